"""The course's architectures, written from scratch, by name:

    from cvbook.models import create_model, list_models, summary
    model = create_model("resnet18", num_classes=10, in_chans=1, img_size=28)
    print(summary(model, (1, 1, 28, 28)))

The building blocks are importable on their own (the exercises rebuild them).
"""

from .densenet import DenseLayer, Transition
from .efficientnet import MBConv, SqueezeExcitation
from .layers import LayerNorm2d, count_parameters
from .registry import MODELS, create_model, list_models
from .resnet import BasicBlock
from .summary import ModelSummary, STUDY_PARAMS, format_parameter_table, parameter_table, summary
from .tiniest import TiniestBlock
from .vit import MultiHeadSelfAttention, PatchEmbed

__all__ = ["MODELS", "BasicBlock", "DenseLayer", "LayerNorm2d", "MBConv", "ModelSummary", "MultiHeadSelfAttention",
           "PatchEmbed", "STUDY_PARAMS", "SqueezeExcitation", "TiniestBlock", "Transition", "count_parameters",
           "create_model", "format_parameter_table", "list_models", "parameter_table", "summary"]
