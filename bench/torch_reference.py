"""PyTorch reference for ptv2's training benchmark (bench/train-bench.ts).

The same BERT shape, batch and step as ptv2: forward + backward + global-norm clipping + AdamW on
one repeated full-length batch, dropout 0.1 (hidden, attention and prompt), [CLS] → pretrained
pooler → linear head. `pt2` freezes the encoder (requires_grad False) and trains a deep prompt
table [P, 2·L·h] laid out per position as [L0.key, L0.value, L1.key, …] plus the head; `ft`
trains everything. Written without transformers so that only python3-torch is needed:

    apt-get install python3-torch libopenblas0-pthread

Usage: python3 bench/torch_reference.py '{"layers":4,"hidden":256,"heads":4,"ffn":1024,"vocab":8000,
         "seq":128,"batch":16,"prompt":16,"method":"pt2","warmup":2,"steps":5,"evals":3,"threads":2}'
Prints one line: RESULT {json}.
"""
import json
import math
import resource
import statistics
import sys
import time

import torch
import torch.nn.functional as F
from torch import nn


class Layer(nn.Module):
    def __init__(self, h, heads, ffn, dropout):
        super().__init__()
        self.heads, self.dropout = heads, dropout
        self.query, self.key, self.value = nn.Linear(h, h), nn.Linear(h, h), nn.Linear(h, h)
        self.attn_out, self.attn_norm = nn.Linear(h, h), nn.LayerNorm(h, eps=1e-12)
        self.inter, self.out, self.out_norm = nn.Linear(h, ffn), nn.Linear(ffn, h), nn.LayerNorm(h, eps=1e-12)

    def forward(self, x, mask, prefix):
        b, s, h = x.shape
        d = h // self.heads

        def split(t):
            return t.view(b, -1, self.heads, d).transpose(1, 2)

        q, k, v = split(self.query(x)), split(self.key(x)), split(self.value(x))
        if prefix is not None:
            k = torch.cat([prefix[0], k], 2)
            v = torch.cat([prefix[1], v], 2)
        scores = q @ k.transpose(-1, -2) / math.sqrt(d) + mask
        probs = F.dropout(scores.softmax(-1), self.dropout, self.training)
        context = (probs @ v).transpose(1, 2).reshape(b, s, h)
        x = self.attn_norm(x + F.dropout(self.attn_out(context), self.dropout, self.training))
        inner = F.gelu(self.inter(x))
        return self.out_norm(x + F.dropout(self.out(inner), self.dropout, self.training))


class Model(nn.Module):
    def __init__(self, c):
        super().__init__()
        h, self.c = c["hidden"], c
        self.word = nn.Embedding(c["vocab"], h)
        self.position = nn.Embedding(512, h)
        self.token_type = nn.Embedding(2, h)
        self.emb_norm = nn.LayerNorm(h, eps=1e-12)
        self.layers = nn.ModuleList(Layer(h, c["heads"], c["ffn"], 0.1) for _ in range(c["layers"]))
        self.pooler = nn.Linear(h, h)
        self.deep = c["method"] == "pt2"
        if self.deep:
            for p in self.parameters():
                p.requires_grad = False
            self.prompt = nn.Parameter(torch.randn(c["prompt"], 2 * c["layers"] * h) * 0.02)
        self.head = nn.Linear(h, 2)

    def forward(self, ids, mask):
        c, (b, s) = self.c, ids.shape
        h, heads, layers = c["hidden"], c["heads"], c["layers"]
        p = c["prompt"] if self.deep else 0
        positions = torch.arange(p, p + s).unsqueeze(0)
        x = self.word(ids) + self.position(positions) + self.token_type(torch.zeros_like(ids))
        x = F.dropout(self.emb_norm(x), 0.1, self.training)
        keys = torch.cat([torch.ones(b, p), mask], 1) if p else mask
        additive = ((1 - keys) * -1e9)[:, None, None, :]
        prefixes = [None] * layers
        if self.deep:
            table = F.dropout(self.prompt.unsqueeze(0).expand(b, -1, -1), 0.1, self.training)
            kv = table.view(b, p, 2 * layers, heads, h // heads).permute(2, 0, 3, 1, 4)
            prefixes = [(kv[2 * i], kv[2 * i + 1]) for i in range(layers)]
        for layer, prefix in zip(self.layers, prefixes):
            x = layer(x, additive, prefix)
        pooled = torch.tanh(self.pooler(x[:, 0]))
        return self.head(F.dropout(pooled, 0.1, self.training))


def main():
    req = json.loads(sys.argv[1])
    torch.set_num_threads(req.get("threads", 2))
    torch.manual_seed(1)
    model = Model(req)
    b, s = req["batch"], req["seq"]
    ids = torch.randint(5, req["vocab"], (b, s))
    mask = torch.ones(b, s)
    labels = torch.arange(b) % 2
    params = [p for p in model.parameters() if p.requires_grad]
    decay = [p for n, p in model.named_parameters() if p.requires_grad and not n.endswith("bias") and "norm" not in n]
    rest = [p for n, p in model.named_parameters() if p.requires_grad and (n.endswith("bias") or "norm" in n)]
    lr = 2e-5 if req["method"] == "ft" else 5e-3
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01}, {"params": rest, "weight_decay": 0.0}], lr=lr)

    times, loss = [], float("nan")
    model.train()
    for i in range(req["warmup"] + req["steps"]):
        start = time.perf_counter()
        optimizer.zero_grad(set_to_none=True)
        out = F.cross_entropy(model(ids, mask), labels)
        out.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()
        loss = out.item()
        if i >= req["warmup"]:
            times.append((time.perf_counter() - start) * 1000)

    model.eval()
    evals = []
    with torch.no_grad():
        for i in range(req["evals"] + 1):
            start = time.perf_counter()
            model(ids, mask).argmax(1).tolist()
            if i > 0:
                evals.append((time.perf_counter() - start) * 1000)

    print("RESULT " + json.dumps({
        "stepMs": statistics.median(times),
        "stepsMs": [round(t) for t in times],
        "evalMs": statistics.median(evals),
        "loss": loss,
        "peakRssMb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
    }))


if __name__ == "__main__":
    main()
