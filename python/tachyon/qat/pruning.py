"""Pruning with TFMOT's schedules (tensorflow_model_optimization's PolynomialDecay and
ConstantSparsity, re-derived from their documented formulas): magnitude pruning of single
weights, or structured pruning of whole output channels (Dense rows, Conv filters).

The mask multiplies the *quantised* weights (QLinear/QConv `prune_mask`), so a pruned weight
is an exact 0 in the forward, the export and the firmware (the HLS and Verilog backends drop
zero weights), and its gradient is 0.
"""
import torch

from .layers import QConv1d, QConv2d, QLinear


class PolynomialDecay:
    """sparsity(step) = final + (initial - final) (1 - (step - begin) / (end - begin))^power
    for begin <= step <= end; masks are updated every `frequency` steps in that window
    (and at `end`), as TFMOT's PolynomialDecay."""

    def __init__(self, initial_sparsity, final_sparsity, begin_step, end_step, power=3, frequency=100):
        if not (0 <= initial_sparsity < 1 and 0 <= final_sparsity < 1):
            raise ValueError("sparsities must lie in [0, 1)")
        if end_step <= begin_step or frequency < 1:
            raise ValueError("end_step must exceed begin_step and frequency be >= 1")
        self.initial, self.final = float(initial_sparsity), float(final_sparsity)
        self.begin, self.end, self.power, self.frequency = int(begin_step), int(end_step), power, int(frequency)

    def sparsity(self, step):
        s = min(max(step, self.begin), self.end)
        p = (s - self.begin) / (self.end - self.begin)
        return self.final + (self.initial - self.final) * (1.0 - p) ** self.power

    def should_update(self, step):
        return self.begin <= step <= self.end and ((step - self.begin) % self.frequency == 0 or step == self.end)


class ConstantSparsity(PolynomialDecay):
    """One sparsity from begin_step on, updated every `frequency` steps (TFMOT's ConstantSparsity)."""

    def __init__(self, target_sparsity, begin_step=0, end_step=-1, frequency=100):
        self.initial = self.final = float(target_sparsity)
        self.begin, self.end, self.frequency, self.power = int(begin_step), int(end_step), int(frequency), 1

    def sparsity(self, step):
        return self.final

    def should_update(self, step):
        return step >= self.begin and (self.end < 0 or step <= self.end) and (step - self.begin) % self.frequency == 0


def prunable_layers(model):
    return [(n, m) for n, m in model.named_modules() if isinstance(m, (QLinear, QConv1d, QConv2d))]


def magnitude_mask(weight, sparsity):
    """Keeps the largest |w|: round(sparsity * n) smallest set to 0 (ties broken by index)."""
    n = weight.numel()
    k = int(round(sparsity * n))
    mask = torch.ones(n, dtype=torch.bool, device=weight.device)
    if k > 0:
        order = torch.argsort(weight.detach().abs().reshape(-1), stable=True)
        mask[order[:k]] = False
    return mask.reshape(weight.shape)


def channel_mask(weight, sparsity):
    """Structured: whole output channels (axis 0) with the smallest L2 norms set to 0."""
    out = weight.shape[0]
    k = int(round(sparsity * out))
    keep = torch.ones(out, dtype=torch.bool, device=weight.device)
    if k > 0:
        norms = weight.detach().reshape(out, -1).norm(dim=1)
        keep[torch.argsort(norms, stable=True)[:k]] = False
    return keep.reshape([out] + [1] * (weight.dim() - 1)).expand_as(weight).clone()


class Pruner:
    """Call step() after each optimiser step. structured=True prunes output channels."""

    def __init__(self, model, schedule, structured=False, layers=None):
        self.schedule, self.structured = schedule, structured
        self.layers = prunable_layers(model) if layers is None else layers
        if not self.layers:
            raise ValueError("the model has no QLinear/QConv layer to prune")
        self.step_count = 0

    def update_masks(self, sparsity):
        for _, m in self.layers:
            # Rank the weights as they enter the firmware: quantised, before the mask.
            w = m.weight_quantizer(m.weight.detach()) if not self.structured else m.weight.detach()
            mask = channel_mask(w, sparsity) if self.structured else magnitude_mask(w, sparsity)
            m.prune_mask = mask

    def step(self):
        if self.schedule.should_update(self.step_count):
            self.update_masks(self.schedule.sparsity(self.step_count))
        self.step_count += 1

    def sparsity(self):
        """Fraction of exact zeros in the quantised weights over all pruned layers."""
        zeros = total = 0
        with torch.no_grad():
            for _, m in self.layers:
                w = m.quantized_weight()
                zeros += int((w == 0).sum())
                total += w.numel()
        return zeros / total
