"""Adam for a stack: one step count and one gradient-norm clip per candidate, so stacked
candidates train exactly as each would alone with ``torch.optim.Adam``."""

from __future__ import annotations

import torch

from models.fused import fused_kernel

ADAM_BETAS = (0.9, 0.999)
ADAM_EPS = 1e-8


class StackedAdam:
    """Adam (PyTorch's update, default betas and eps) with one step count per candidate, and
    per-candidate gradient-norm clipping, so stacked candidates train independently."""

    def __init__(self, params: list[torch.Tensor], lr: float, clip_norm: float) -> None:
        self.params, self.lr, self.clip_norm = params, lr, clip_norm
        self.exp_avg = [torch.zeros_like(p) for p in params]
        self.exp_avg_sq = [torch.zeros_like(p) for p in params]
        self.steps = torch.zeros(params[0].shape[0], dtype=torch.float64)

    def keep(self, rows: torch.Tensor, params: list[torch.Tensor]) -> None:
        self.params = params
        self.exp_avg = [m[rows] for m in self.exp_avg]
        self.exp_avg_sq = [v[rows] for v in self.exp_avg_sq]
        self.steps = self.steps[rows.cpu()]

    @torch.no_grad()
    def step(self, active: torch.Tensor) -> None:
        """One update of the slots where ``active`` (K,) is True; others are left untouched."""
        grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in self.params]
        self.steps += active.cpu().double()
        beta1, beta2 = ADAM_BETAS
        step_size = self.lr / (1 - beta1**self.steps)
        correction2 = (1 - beta2**self.steps).sqrt()
        kernel = fused_kernel() if self.params[0].device.type == "cpu" else None
        if kernel is not None and len(self.params) == 1:  # the flat leaf: one compiled pass
            kernel.adam_step(
                self.params[0], grads[0].contiguous(), self.exp_avg[0], self.exp_avg_sq[0],
                step_size, correction2, active.cpu(), self.clip_norm, beta1, beta2, ADAM_EPS,
            )  # fmt: skip
            return
        k = active.shape[0]
        squares = sum(g.reshape(k, -1).square().sum(1, dtype=torch.float64) for g in grads)
        norms = squares.sqrt()  # type: ignore[union-attr]
        clip = (self.clip_norm / (norms + 1e-6)).clamp(max=1.0).float()
        step_size = torch.where(active.cpu(), step_size, torch.zeros_like(step_size))
        correction2 = torch.where(active.cpu(), correction2, torch.ones_like(correction2))
        everyone = bool(active.all())  # the usual case: no masking, in-place updates
        for param, grad, m, v in zip(
            self.params, grads, self.exp_avg, self.exp_avg_sq, strict=True
        ):
            shape = (k,) + (1,) * (param.dim() - 1)
            grad = grad * clip.to(grad.device).view(shape)
            if everyone:
                m.lerp_(grad, 1 - beta1)
                v.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
            else:
                live = active.view(shape)
                grad = torch.where(live, grad, 0.0)
                m.copy_(torch.where(live, m.lerp(grad, 1 - beta1), m))
                v.copy_(torch.where(live, v * beta2 + (1 - beta2) * grad * grad, v))
            denom = (v.sqrt() / correction2.to(v).view(shape)).add_(ADAM_EPS)
            param.sub_(step_size.to(param).view(shape) * m / denom)
