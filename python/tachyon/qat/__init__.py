"""tachyon.qat: quantisation-aware training and pruning in PyTorch on Tachyon's own
fixed-point arithmetic, so that the trained model is the firmware bit for bit (docs/qat.md).
"""
from .quantizers import (BinaryQuantizer, FixedQuantizer, PowerOfTwoQuantizer, Quantizer, QuantizerError,
                         TernaryQuantizer, fixed_cast)
