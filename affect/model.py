"""The multi-task network: a torchvision ResNet-18 trunk with a VAD head and an expression head."""
from __future__ import annotations

import torch
from torch import nn
from torchvision.models import resnet18

from affect.schema import EXPRESSIONS, FER2013_TO_FERPLUS


class VadExpressionNet(nn.Module):
    """Shared ResNet trunk -> (vad in [-1, 1] of shape [N, 3], expression logits [N, K]).

    Inputs are gray faces [N, 1, S, S] normalised to mean 0 / std 1 by `normalise`.
    One trunk for both tasks is the Huo & Ge design: the heads regularise each other.

    An optional third head predicts the 7 original FER2013 labels (FER2013 code order).
    FERPlus re-labelled the same faces with 10 annotators; its majority label differs from
    the FER2013 label on 32 % of them (train and test alike), so a perfect FERPlus head
    would score about 68 % against FER2013 labels. One head cannot serve both; the
    product reports the FERPlus head, the FER2013 head serves FER2013-labelled benchmarks.
    """

    def __init__(self, trunk: nn.Module, feature_dim: int, num_expressions: int, dropout: float,
                 fer2013_head: bool = False):
        super().__init__()
        self.trunk = trunk
        self.dropout = nn.Dropout(dropout)
        self.vad_head = nn.Sequential(nn.Linear(feature_dim, 128), nn.ReLU(inplace=True),
                                      nn.Linear(128, 3), nn.Tanh())
        self.expression_head = nn.Linear(feature_dim, num_expressions)
        self.fer2013_head = nn.Linear(feature_dim, len(FER2013_TO_FERPLUS)) if fer2013_head else None

    def forward(self, x: torch.Tensor, with_fer2013: bool = False):
        """(vad, expression logits), plus FER2013 logits when `with_fer2013` (None without that head)."""
        features = self.dropout(self.trunk(x))
        out = (self.vad_head(features), self.expression_head(features))
        if not with_fer2013:
            return out
        return *out, (self.fer2013_head(features) if self.fer2013_head is not None else None)


def build_vad_resnet18(*, num_expressions: int = len(EXPRESSIONS), in_channels: int = 1,
                       small_input: bool = False, dropout: float = 0.2,
                       fer2013_head: bool = False) -> VadExpressionNet:
    """ResNet-18 (no downloaded weights) with its `fc` replaced by the two heads.

    `small_input=True` drops the stem max-pool, keeping twice the spatial resolution for
    48-64 px faces at ~2x the compute; the default keeps torchvision's stem.
    """
    trunk = resnet18(weights=None)
    if in_channels != 3:
        trunk.conv1 = nn.Conv2d(in_channels, 64, kernel_size=7, stride=2, padding=3, bias=False)
    if small_input:
        trunk.maxpool = nn.Identity()
    feature_dim = trunk.fc.in_features
    trunk.fc = nn.Identity()
    return VadExpressionNet(trunk, feature_dim, num_expressions, dropout, fer2013_head)


# Gray-level statistics of FERPlus training faces, applied to every input.
PIXEL_MEAN = 0.5077
PIXEL_STD = 0.2550


def normalise(batch_uint8: torch.Tensor) -> torch.Tensor:
    """uint8 [N, 1, S, S] -> float normalised input."""
    return (batch_uint8.float() / 255.0 - PIXEL_MEAN) / PIXEL_STD
