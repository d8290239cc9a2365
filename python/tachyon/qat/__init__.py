"""tachyon.qat: quantisation-aware training and pruning in PyTorch on Tachyon's own
fixed-point arithmetic, so that the trained model is the firmware bit for bit (docs/qat.md).
"""
from .activations import QSigmoid, QSoftmax, QTanh
from .ebops import EbopsMeter
from .export import export
from .fixed_types import ExportError
from .layers import QAct, QAdd, QBatchNorm, QConcat, QConv1d, QConv2d, QLinear, QReLU
from .pruning import ConstantSparsity, PolynomialDecay, Pruner
from .quantizers import (BinaryQuantizer, FixedQuantizer, PowerOfTwoQuantizer, Quantizer, QuantizerError,
                         TernaryQuantizer, fixed_cast)
from .recurrent import QGRU, QLSTM

__all__ = ["BinaryQuantizer", "ConstantSparsity", "EbopsMeter", "ExportError", "FixedQuantizer", "PolynomialDecay",
           "PowerOfTwoQuantizer", "Pruner", "QAct", "QAdd", "QBatchNorm", "QConcat", "QConv1d", "QConv2d", "QGRU",
           "QLSTM", "QLinear", "QReLU", "QSigmoid", "QSoftmax", "QTanh", "Quantizer", "QuantizerError",
           "TernaryQuantizer", "export", "fixed_cast"]
