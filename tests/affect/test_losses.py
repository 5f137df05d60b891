"""Losses: the consistency term must carry gradient and follow the sign table."""
from __future__ import annotations

import torch

from affect.losses import ConsistencyLoss, ccc, read_consistency_table, vad_loss
from affect.schema import EXPRESSIONS

HAPPY = EXPRESSIONS.index("happiness")


def test_table_maps_huo_categories_and_leaves_contempt_free():
    pos, neg = read_consistency_table()
    assert neg[HAPPY].tolist() == [1, 1, 1] and pos[HAPPY].tolist() == [0, 0, 0]
    assert pos[EXPRESSIONS.index("contempt")].sum() == 0


def test_consistency_is_differentiable_and_sign_aware():
    loss = ConsistencyLoss.from_table(margin=0.0)
    logits = torch.full((1, 8), -10.0)
    logits[0, HAPPY] = 10.0
    bad = torch.tensor([[-0.5, -0.5, -0.5]], requires_grad=True)
    value = loss(bad, logits)
    value.backward()
    assert value.item() > 1.0 and (bad.grad < 0).all()     # descent pushes a sad-looking VAD up
    good = torch.tensor([[0.5, 0.5, 0.5]])
    assert loss(good, logits).item() < 1e-3
    logits.requires_grad_(True)
    loss(bad.detach(), logits).backward()
    assert logits.grad.abs().sum() > 0                     # gradient reaches the classifier too


def test_violations_use_top_class():
    loss = ConsistencyLoss.from_table(margin=0.1)
    vad = torch.tensor([[0.5, 0.5, 0.5], [-0.5, 0.5, 0.5]]).numpy()
    assert loss.violations(vad, [HAPPY, HAPPY]).tolist() == [False, True]


def test_ccc_and_vad_loss():
    x = torch.randn(64, 3)
    torch.testing.assert_close(ccc(x, x), torch.ones(3))
    assert vad_loss(x, x).item() < 1e-5
    assert vad_loss(x, -x).item() > 3
