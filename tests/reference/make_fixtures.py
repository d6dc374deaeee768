#!/usr/bin/python3
"""PyTorch reference for the worker's CPU engine.

Builds the same tiny LLaMa-like transformer as org.twobp.worker.model.Model (same parameter
names, shapes and maths), runs forward and backward on a fixed batch in float64, and writes
what the Java test compares against into an HDF5 file per model variant:

    /config                 attributes: dim, n_layers, n_heads, n_kv_heads, ffn_hidden,
                            vocab_size, seq_len, rope_theta, norm_eps, norm, mlp, batch_size
    /batch/tokens           int32   [B*T]   input ids
    /batch/targets          int32   [B*T]   target ids, -1 = not scored
    /params/<name>          float32         the weights (Java loads these by name)
    /grads/<name>           float64         d(loss)/d(weight)
    /logits                 float64 [B*T, V]
    /loss                   float64 [1]     mean cross-entropy over the scored targets

The weights are drawn here in float32 and the reference runs on exactly those values promoted
to float64, so the only difference left on the Java side is its own float32 arithmetic.

Conventions shared with the Java code (change both or neither):
  * Linear weights are [out, in]; y = x W^T (+ b).
  * Attention: q, k, v projections wq [C, C], wk and wv [Hkv*hd, C]; query head h uses key/value
    head h // (H / Hkv); scores scaled by 1/sqrt(hd); causal softmax.
  * RoPE, interleaved pairs: (2i, 2i+1) of each head rotate by pos * theta^(-2i/hd).
  * SwiGLU: (silu(x w1^T) * (x w3^T)) w2^T.  GELU MLP: gelu_tanh(x w1^T + b1) w2^T + b2.
  * RMSNorm: x / sqrt(mean(x^2) + eps) * w.  LayerNorm as torch.nn.functional.layer_norm.
  * Pre-norm blocks: r = x + attn(norm1(x)); y = r + mlp(norm2(r)); head: norm, untied output.

A further file, conv_bn.h5, holds a 2-D convolution (stride 2, padding 1, no bias) followed by
batch normalisation in training mode, NCHW, for the convolutional layers
(org.twobp.worker.layers.Conv2d and BatchNorm2d; see make_conv_bn for its layout).

Regenerate (needs Debian's python3-torch and python3-h5py; CI only reads the committed files),
all files or the ones named:

    /usr/bin/python3 tests/reference/make_fixtures.py [tiny-llama] [tiny-layernorm-gelu] [conv_bn]
"""

import math
import os
import sys

import h5py
import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "fixtures")

VARIANTS = {
    "tiny-llama": dict(norm="rmsnorm", mlp="swiglu"),
    "tiny-layernorm-gelu": dict(norm="layernorm", mlp="gelu"),
}
BASE = dict(dim=32, n_layers=2, n_heads=4, n_kv_heads=2, ffn_hidden=48, vocab_size=37, seq_len=12,
            rope_theta=10000.0, norm_eps=1e-5, batch_size=3)


def make_params(cfg, gen):
    """Weights in float32, in the Java declaration order, keyed by the Java names."""
    c, f, v = cfg["dim"], cfg["ffn_hidden"], cfg["vocab_size"]
    hd = c // cfg["n_heads"]
    ckv = cfg["n_kv_heads"] * hd
    p = {}

    def normal(name, *shape, std):
        p[name] = (torch.randn(*shape, generator=gen, dtype=torch.float64) * std).float()

    def gain(name, n):
        p[name] = (1.0 + 0.1 * torch.randn(n, generator=gen, dtype=torch.float64)).float()

    def norm(prefix):
        gain(prefix + ".weight", c)
        if cfg["norm"] == "layernorm":
            normal(prefix + ".bias", c, std=0.1)

    normal("embedding.tokens", v, c, std=1.0)
    for i in range(cfg["n_layers"]):
        b = "blocks.%d" % i
        norm(b + ".attn_norm")
        normal(b + ".attn.wq", c, c, std=0.3)
        normal(b + ".attn.wk", ckv, c, std=0.3)
        normal(b + ".attn.wv", ckv, c, std=0.3)
        normal(b + ".attn.wo", c, c, std=0.2)
        norm(b + ".mlp_norm")
        if cfg["mlp"] == "swiglu":
            normal(b + ".mlp.w1", f, c, std=0.3)
            normal(b + ".mlp.w3", f, c, std=0.3)
            normal(b + ".mlp.w2", c, f, std=0.2)
        else:
            normal(b + ".mlp.w1", f, c, std=0.3)
            normal(b + ".mlp.w1.bias", f, std=0.1)
            normal(b + ".mlp.w2", c, f, std=0.2)
            normal(b + ".mlp.w2.bias", c, std=0.1)
    norm("head.norm")
    normal("head.output", v, c, std=0.3)
    return p


def rope(x, theta):
    """x [B, T, heads, hd]; interleaved pairs rotate by pos * theta^(-2i/hd)."""
    _, t, _, hd = x.shape
    i = torch.arange(hd // 2, dtype=torch.float64)
    freq = theta ** (-2.0 * i / hd)
    angle = torch.arange(t, dtype=torch.float64)[:, None] * freq[None, :]  # [T, hd/2]
    cos = torch.cos(angle)[None, :, None, :]
    sin = torch.sin(angle)[None, :, None, :]
    x0, x1 = x[..., 0::2], x[..., 1::2]
    out = torch.empty_like(x)
    out[..., 0::2] = x0 * cos - x1 * sin
    out[..., 1::2] = x0 * sin + x1 * cos
    return out


def norm(cfg, w, prefix, x):
    if cfg["norm"] == "layernorm":
        return F.layer_norm(x, (x.shape[-1],), w[prefix + ".weight"], w[prefix + ".bias"], cfg["norm_eps"])
    return x * torch.rsqrt((x * x).mean(-1, keepdim=True) + cfg["norm_eps"]) * w[prefix + ".weight"]


def attention(cfg, w, b, x):
    bsz, t, c = x.shape
    h, hkv = cfg["n_heads"], cfg["n_kv_heads"]
    hd = c // h
    q = (x @ w[b + ".wq"].T).view(bsz, t, h, hd)
    k = (x @ w[b + ".wk"].T).view(bsz, t, hkv, hd)
    v = (x @ w[b + ".wv"].T).view(bsz, t, hkv, hd)
    q, k = rope(q, cfg["rope_theta"]), rope(k, cfg["rope_theta"])
    g = h // hkv
    k = k.repeat_interleave(g, dim=2)
    v = v.repeat_interleave(g, dim=2)
    q, k, v = (z.transpose(1, 2) for z in (q, k, v))  # [B, H, T, hd]
    scores = (q @ k.transpose(-1, -2)) / math.sqrt(hd)
    mask = torch.ones(t, t, dtype=torch.bool).tril()
    scores = scores.masked_fill(~mask, float("-inf"))
    att = torch.softmax(scores, dim=-1) @ v  # [B, H, T, hd]
    att = att.transpose(1, 2).reshape(bsz, t, c)
    return att @ w[b + ".wo"].T


def mlp(cfg, w, b, x):
    if cfg["mlp"] == "swiglu":
        return (F.silu(x @ w[b + ".w1"].T) * (x @ w[b + ".w3"].T)) @ w[b + ".w2"].T
    hid = F.gelu(x @ w[b + ".w1"].T + w[b + ".w1.bias"], approximate="tanh")
    return hid @ w[b + ".w2"].T + w[b + ".w2.bias"]


def forward(cfg, w, tokens, targets):
    bsz, t = cfg["batch_size"], cfg["seq_len"]
    x = w["embedding.tokens"][tokens.view(bsz, t)]
    for i in range(cfg["n_layers"]):
        b = "blocks.%d" % i
        r = x + attention(cfg, w, b + ".attn", norm(cfg, w, b + ".attn_norm", x))
        x = r + mlp(cfg, w, b + ".mlp", norm(cfg, w, b + ".mlp_norm", r))
    logits = norm(cfg, w, "head.norm", x) @ w["head.output"].T
    logits = logits.reshape(bsz * t, -1)
    loss = F.cross_entropy(logits, targets, ignore_index=-1, reduction="mean")
    return logits, loss


def make(name, variant, seed):
    cfg = dict(BASE, **variant)
    gen = torch.Generator().manual_seed(seed)
    params32 = make_params(cfg, gen)
    n = cfg["batch_size"] * cfg["seq_len"]
    tokens = torch.randint(cfg["vocab_size"], (n,), generator=gen)
    targets = torch.randint(cfg["vocab_size"], (n,), generator=gen)
    targets[torch.rand(n, generator=gen) < 0.25] = -1  # some positions are not scored
    w = {k: v.double().requires_grad_(True) for k, v in params32.items()}
    logits, loss = forward(cfg, w, tokens, targets)
    loss.backward()
    path = os.path.join(OUT, name + ".h5")
    with reproducible_file(path) as h5:
        meta = group(h5, "config")
        for g in ("batch", "params", "grads"):
            group(h5, g)
        for k, v in cfg.items():
            meta.attrs[k] = v
        meta.attrs["generator"] = "tests/reference/make_fixtures.py, torch " + torch.__version__
        h5.create_dataset("batch/tokens", data=tokens.numpy().astype(np.int32), track_times=False)
        h5.create_dataset("batch/targets", data=targets.numpy().astype(np.int32), track_times=False)
        for k, v in params32.items():
            h5.create_dataset("params/" + k, data=v.numpy(), track_times=False)
            h5.create_dataset("grads/" + k, data=w[k].grad.numpy(), track_times=False)
        h5.create_dataset("logits", data=logits.detach().numpy(), track_times=False)
        h5.create_dataset("loss", data=np.array([loss.item()]), track_times=False)
    print("%s: loss %.6f, %d parameters, %d scored targets -> %s"
          % (name, loss.item(), sum(v.numel() for v in params32.values()), int((targets >= 0).sum()),
             os.path.relpath(path)))


CONV_BN = dict(batch=3, channels=3, height=9, width=8, filters=4, kernel_h=3, kernel_w=3, stride=2, pad=1,
               eps=1e-5)


def make_conv_bn(name, seed):
    """conv2d (stride 2, padding 1, no bias) then batch norm over (N, H, W) per channel, loss sum(out * r).

        /config                  attributes: the geometry above and eps
        /input                   float32 [B, C, H, W]
        /params/conv.weight      float32 [F, C, kh, kw]
        /params/bn.weight        float32 [F]      (gain)
        /params/bn.bias          float32 [F]
        /output_grad             float32 [B, F, outH, outW]   r = d(loss)/d(out)
        /conv_output             float64 [B, F, outH, outW]
        /output                  float64 [B, F, outH, outW]
        /grads/input             float64 [B, C, H, W]
        /grads/<param>           float64, the parameter's shape

    The conv has no bias: batch norm removes a per-channel constant, so its gradient would be 0.
    """
    cfg = CONV_BN
    gen = torch.Generator().manual_seed(seed)
    b, c, f = cfg["batch"], cfg["channels"], cfg["filters"]
    x32 = torch.randn(b, c, cfg["height"], cfg["width"], generator=gen, dtype=torch.float64).float()
    params32 = {
        "conv.weight": (0.4 * torch.randn(f, c, cfg["kernel_h"], cfg["kernel_w"], generator=gen,
                                          dtype=torch.float64)).float(),
        "bn.weight": (1.0 + 0.1 * torch.randn(f, generator=gen, dtype=torch.float64)).float(),
        "bn.bias": (0.1 * torch.randn(f, generator=gen, dtype=torch.float64)).float(),
    }
    x = x32.double().requires_grad_(True)
    w = {k: v.double().requires_grad_(True) for k, v in params32.items()}
    conv = F.conv2d(x, w["conv.weight"], stride=cfg["stride"], padding=cfg["pad"])
    conv.retain_grad()
    out = F.batch_norm(conv, None, None, w["bn.weight"], w["bn.bias"], training=True, eps=cfg["eps"])
    r32 = torch.randn(out.shape, generator=gen, dtype=torch.float64).float()
    loss = (out * r32.double()).sum()
    loss.backward()
    path = os.path.join(OUT, name + ".h5")
    with reproducible_file(path) as h5:
        meta = group(h5, "config")
        for g in ("params", "grads"):
            group(h5, g)
        for k, v in cfg.items():
            meta.attrs[k] = v
        meta.attrs["generator"] = "tests/reference/make_fixtures.py, torch " + torch.__version__
        h5.create_dataset("input", data=x32.numpy(), track_times=False)
        h5.create_dataset("output_grad", data=r32.numpy(), track_times=False)
        for k, v in params32.items():
            h5.create_dataset("params/" + k, data=v.numpy(), track_times=False)
            h5.create_dataset("grads/" + k, data=w[k].grad.numpy(), track_times=False)
        h5.create_dataset("grads/input", data=x.grad.numpy(), track_times=False)
        h5.create_dataset("conv_output", data=conv.detach().numpy(), track_times=False)
        h5.create_dataset("output", data=out.detach().numpy(), track_times=False)
    print("%s: output %s, loss %.6f -> %s" % (name, tuple(out.shape), loss.item(), os.path.relpath(path)))


def reproducible_file(path):
    """A new HDF5 file whose bytes depend only on its content (no creation times)."""
    fcpl = h5py.h5p.create(h5py.h5p.FILE_CREATE)
    fcpl.set_obj_track_times(False)
    fid = h5py.h5f.create(path.encode(), h5py.h5f.ACC_TRUNC, fcpl=fcpl)
    return h5py.File(fid)


def group(h5, name):
    gcpl = h5py.h5p.create(h5py.h5p.GROUP_CREATE)
    gcpl.set_obj_track_times(False)
    return h5py.Group(h5py.h5g.create(h5.id, name.encode(), gcpl=gcpl))


def main(argv):
    known = list(VARIANTS) + ["conv_bn"]
    chosen = argv or known
    unknown = [n for n in chosen if n not in known]
    if unknown:
        print("unknown fixture(s) %s; known: %s" % (", ".join(unknown), ", ".join(known)), file=sys.stderr)
        return 2
    torch.use_deterministic_algorithms(True)
    os.makedirs(OUT, exist_ok=True)
    for i, (name, variant) in enumerate(VARIANTS.items()):
        if name in chosen:
            make(name, variant, seed=1000 + i)
    if "conv_bn" in chosen:
        make_conv_bn("conv_bn", seed=2000)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
