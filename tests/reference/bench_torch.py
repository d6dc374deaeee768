#!/usr/bin/python3
"""The PyTorch side of the GPU benchmark (make bench-gpu): the same model shape as a twobp
config, trained in eager PyTorch on one device, and torch.matmul at the model's GEMM shapes.

Prints, for the config's micro-batch (batch_size / micro_batches sequences of seq_len tokens):
    torch step  <attention>  <precision>  ms/step  tok/s
    torch gemm  <name> m n k  TFLOP/s
so that the Java benchmark's figures, printed in the same run, can be set beside them.

The model follows org.twobp.worker.model.Model: token embedding, pre-norm blocks
(RMSNorm or LayerNorm; grouped-query causal attention with interleaved RoPE; SwiGLU or GELU MLP),
final norm and an untied output layer; cross-entropy loss; AdamW. Attention is either the same
explicit softmax(QK^T)V as the Java engine ("explicit") or PyTorch's fused kernel ("sdpa"), the
figure a PyTorch user would see. Precision: fp32, tf32 (matmuls on TF32 tensor cores) or bf16
(autocast: bf16 matmuls, float32 weights and optimizer state, like twobp's bf16 mode).

    python3 tests/reference/bench_torch.py --config configs/llama-small.toml [--device cuda]
        [--precision bf16] [--attention explicit|sdpa] [--steps 10] [--warmup 3]
"""

import argparse
import math
import sys
import time

try:
    import tomllib
except ImportError:  # Python < 3.11
    import tomli as tomllib

import torch
import torch.nn.functional as F


class Norm(torch.nn.Module):
    def __init__(self, kind, dim, eps):
        super().__init__()
        self.kind, self.eps = kind, eps
        self.weight = torch.nn.Parameter(torch.ones(dim))
        self.bias = torch.nn.Parameter(torch.zeros(dim)) if kind == "layernorm" else None

    def forward(self, x):
        if self.kind == "layernorm":
            return F.layer_norm(x, (x.shape[-1],), self.weight, self.bias, self.eps)
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


class Block(torch.nn.Module):
    def __init__(self, m, attention):
        super().__init__()
        c, h, hkv, f = m["dim"], m["n_heads"], m["n_kv_heads"], m["ffn_hidden"]
        self.h, self.hkv, self.hd, self.attention, self.mlp_kind = h, hkv, c // h, attention, m["mlp"]
        self.attn_norm = Norm(m["norm"], c, m["norm_eps"])
        self.mlp_norm = Norm(m["norm"], c, m["norm_eps"])
        self.wq = torch.nn.Linear(c, c, bias=False)
        self.wk = torch.nn.Linear(c, hkv * self.hd, bias=False)
        self.wv = torch.nn.Linear(c, hkv * self.hd, bias=False)
        self.wo = torch.nn.Linear(c, c, bias=False)
        gelu = m["mlp"] == "gelu"
        self.w1 = torch.nn.Linear(c, f, bias=gelu)
        self.w3 = None if gelu else torch.nn.Linear(c, f, bias=False)
        self.w2 = torch.nn.Linear(f, c, bias=gelu)

    def forward(self, x, cos, sin):
        b, t, c = x.shape
        y = self.attn_norm(x)
        q = rotate(self.wq(y).view(b, t, self.h, self.hd), cos, sin).transpose(1, 2)
        k = rotate(self.wk(y).view(b, t, self.hkv, self.hd), cos, sin).transpose(1, 2)
        v = self.wv(y).view(b, t, self.hkv, self.hd).transpose(1, 2)
        g = self.h // self.hkv
        k, v = k.repeat_interleave(g, dim=1), v.repeat_interleave(g, dim=1)
        if self.attention == "sdpa":
            a = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        else:
            s = (q @ k.transpose(-1, -2)) / math.sqrt(self.hd)
            s = s.masked_fill(~torch.ones(t, t, dtype=torch.bool, device=x.device).tril(), float("-inf"))
            a = torch.softmax(s, dim=-1) @ v
        r = x + self.wo(a.transpose(1, 2).reshape(b, t, c))
        y = self.mlp_norm(r)
        if self.mlp_kind == "gelu":
            hid = F.gelu(self.w1(y), approximate="tanh")
        else:
            hid = F.silu(self.w1(y)) * self.w3(y)
        return r + self.w2(hid)


def rotate(x, cos, sin):
    """Interleaved RoPE on x [B, T, heads, hd]."""
    x0, x1 = x[..., 0::2], x[..., 1::2]
    return torch.stack((x0 * cos - x1 * sin, x0 * sin + x1 * cos), dim=-1).flatten(-2)


class Model(torch.nn.Module):
    def __init__(self, m, attention):
        super().__init__()
        self.embedding = torch.nn.Embedding(m["vocab_size"], m["dim"])
        self.blocks = torch.nn.ModuleList(Block(m, attention) for _ in range(m["n_layers"]))
        self.norm = Norm(m["norm"], m["dim"], m["norm_eps"])
        self.output = torch.nn.Linear(m["dim"], m["vocab_size"], bias=False)
        hd = m["dim"] // m["n_heads"]
        freq = m["rope_theta"] ** (-2.0 * torch.arange(hd // 2, dtype=torch.float64) / hd)
        angle = torch.arange(m["seq_len"], dtype=torch.float64)[:, None] * freq[None, :]
        self.register_buffer("cos", torch.cos(angle).float()[None, :, None, :], persistent=False)
        self.register_buffer("sin", torch.sin(angle).float()[None, :, None, :], persistent=False)

    def forward(self, tokens, targets):
        x = self.embedding(tokens)
        for blk in self.blocks:
            x = blk(x, self.cos, self.sin)
        logits = self.output(self.norm(x))
        return F.cross_entropy(logits.flatten(0, 1).float(), targets.flatten(), ignore_index=-1)


def sync(device):
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def bench_step(m, micro, device, precision, attention, steps, warmup):
    torch.manual_seed(0)
    model = Model(m, attention).to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.1)
    tokens = torch.randint(0, m["vocab_size"], (micro, m["seq_len"]), device=device)
    targets = torch.randint(0, m["vocab_size"], (micro, m["seq_len"]), device=device)
    autocast = torch.autocast(device_type=device.split(":")[0], dtype=torch.bfloat16, enabled=precision == "bf16")

    def step():
        opt.zero_grad(set_to_none=True)
        with autocast:
            loss = model(tokens, targets)
        loss.backward()
        opt.step()
        return loss

    for _ in range(warmup):
        step()
    sync(device)
    t0 = time.perf_counter()
    for _ in range(steps):
        loss = step()
    sync(device)
    ms = (time.perf_counter() - t0) * 1e3 / steps
    tok = micro * m["seq_len"] / (ms / 1e3)
    print("torch step  %-8s %-5s %9.2f ms %11.0f tok/s  (loss %.3f, %.1fM parameters)" % (
        attention, precision, ms, tok, loss.item(), sum(p.numel() for p in model.parameters()) / 1e6))
    return tok


def gemm_shapes(m, micro):
    n = micro * m["seq_len"]
    c, f, v = m["dim"], m["ffn_hidden"], m["vocab_size"]
    ckv = m["n_kv_heads"] * (c // m["n_heads"])
    return [("qkv", n, c + 2 * ckv, c), ("wo", n, c, c), ("mlp up", n, f, c), ("mlp down", n, c, f),
            ("output", n, v, c)]


def bench_gemm(m, micro, device, precision):
    dtype = torch.bfloat16 if precision == "bf16" else torch.float32
    for name, rows, cols, k in gemm_shapes(m, micro):
        a = torch.randn(rows, k, device=device, dtype=dtype)
        b = torch.randn(k, cols, device=device, dtype=dtype)
        for _ in range(3):
            a @ b
        sync(device)
        reps, t0 = 0, time.perf_counter()
        while reps < 5 or (time.perf_counter() - t0 < 0.3 and reps < 200):
            a @ b
            reps += 1
        sync(device)
        s = (time.perf_counter() - t0) / reps
        print("torch gemm  %-9s %6d %6d %6d  %9.3f TFLOP/s" % (name, rows, cols, k, 2.0 * rows * cols * k / s / 1e12))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--config", required=True)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--precision", choices=["fp32", "tf32", "bf16"], default="fp32")
    ap.add_argument("--attention", choices=["explicit", "sdpa", "both"], default="both")
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--no-gemm", action="store_true")
    args = ap.parse_args()
    with open(args.config, "rb") as fh:
        cfg = tomllib.load(fh)
    m, t = cfg["model"], cfg.get("train", {})
    micro = t.get("batch_size", 8) // t.get("micro_batches", 1)
    torch.backends.cuda.matmul.allow_tf32 = args.precision == "tf32"
    torch.backends.cudnn.allow_tf32 = args.precision == "tf32"
    print("torch %s on %s (%s), %s, micro-batch %d x %d" % (torch.__version__, args.device,
          torch.cuda.get_device_name() if args.device.startswith("cuda") else "cpu", m["name"], micro, m["seq_len"]))
    for attention in (["explicit", "sdpa"] if args.attention == "both" else [args.attention]):
        if attention == "sdpa" and not hasattr(F, "scaled_dot_product_attention"):
            print("torch step  sdpa     skipped: this PyTorch (%s) has no scaled_dot_product_attention" % torch.__version__)
            continue
        bench_step(m, micro, args.device, args.precision, attention, args.steps, args.warmup)
    if not args.no_gemm:
        bench_gemm(m, micro, args.device, args.precision)


if __name__ == "__main__":
    sys.exit(main())
