"""Test-only reference networks in the published layout, built from ``efficientnet_pytorch`` and timm's
legacy Xception, written from the facts in ``../shared/reference/icpr2020/README.md``.

They are independent of ``shared.models.icpr`` on purpose (different EfficientNet implementation, its own
static padding for 380×380), so agreement between the two is evidence, not a tautology.
"""

from __future__ import annotations

import torch
from torch import nn


class RefEfficientNetB4(nn.Module):
    """``efficientnet`` (efficientnet_pytorch B4, no ``_fc``) + ``classifier``; optional ``attconv``."""

    def __init__(self, attention: bool = False) -> None:
        super().__init__()
        from efficientnet_pytorch import EfficientNet

        self.efficientnet = EfficientNet.from_name("efficientnet-b4")
        del self.efficientnet._fc
        if attention:
            self.efficientnet.attconv = nn.Conv2d(56, 1, kernel_size=1)
        self.attention = attention
        self.classifier = nn.Linear(1792, 1)

    def features_and_attention(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        e = self.efficientnet
        x = e._swish(e._bn0(e._conv_stem(x)))
        att = None
        for index, block in enumerate(e._blocks):
            x = block(x)
            if self.attention and index == 9:
                att = torch.sigmoid(e.attconv(x))
                x = x * att
        x = e._swish(e._bn1(e._conv_head(x)))
        return e._avg_pooling(x).flatten(1), att

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        feats, att = self.features_and_attention(x)
        return self.classifier(feats)[:, 0], att


class RefSiamese(nn.Module):
    def __init__(self, attention: bool = False) -> None:
        super().__init__()
        self.feat_ext = RefEfficientNetB4(attention)
        self.classifier = nn.Sequential(nn.BatchNorm1d(1792), nn.Linear(1792, 1))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        feats, att = self.feat_ext.features_and_attention(x)
        return self.classifier(feats)[:, 0], att


class RefXception(nn.Module):
    """Cadene-layout Xception (timm ``legacy_xception``) whose head is named ``last_linear``."""

    def __init__(self) -> None:
        super().__init__()
        import timm

        self.xception = timm.create_model("legacy_xception", pretrained=False, num_classes=0)
        self.xception.last_linear = nn.Linear(2048, 1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, None]:
        feats = self.xception.forward_head(self.xception.forward_features(x), pre_logits=True)
        return self.xception.last_linear(feats)[:, 0], None


def build_reference(architecture: str) -> nn.Module:
    return {
        "EfficientNetB4": lambda: RefEfficientNetB4(False),
        "EfficientNetAutoAttB4": lambda: RefEfficientNetB4(True),
        "EfficientNetB4ST": lambda: RefSiamese(False),
        "EfficientNetAutoAttB4ST": lambda: RefSiamese(True),
        "Xception": RefXception,
    }[architecture]().eval()
