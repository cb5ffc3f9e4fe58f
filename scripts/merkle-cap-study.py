#!/usr/bin/env python3
# Would Merkle caps shrink our proofs? For random query sets (28 queries, 200 seeds), the
# siblings a multi-opening sends at the top levels of each tree against the 2^c - 1 extra
# digests a cap of height c adds per tree (docs/BENCHMARKS.md, "Proof size, security and
# parameters"). Tree heights: fibonacci 2^20 and zkvm 16 at the default parameters.
import random
def siblings_per_level(log_leaves, leaves):
    # returns list s[h] = siblings taken when combining level with 2^h nodes (h from log_leaves down to 1)
    level = sorted(set((1 << log_leaves) + x for x in leaves))
    out = {}
    h = log_leaves
    while level[0] > 1:
        nxt = []; sib = 0; k = 0
        while k < len(level):
            x = level[k]
            if x % 2 == 0 and k + 1 < len(level) and level[k+1] == x + 1:
                k += 2
            else:
                sib += 1; k += 1
            nxt.append(x // 2)
        out[h] = sib
        level = sorted(set(nxt)); h -= 1
    return out
def study(name, trees, log_m0, q=28, seeds=200):
    for c in range(0, 7):
        tot = 0
        for s in range(seeds):
            rnd = random.Random(s)
            us = [rnd.randrange(1 << log_m0) for _ in range(q)]
            for log_n in trees:
                rows = [u >> (log_m0 - log_n) for u in us]
                spl = siblings_per_level(log_n, rows)
                # with a cap of height c: levels with 2^h nodes, h <= c, need no siblings; cap costs 2^c digests instead of 1 root
                saved = sum(v for h, v in spl.items() if h <= c)
                tot += (2**c - 1) - saved
        print(name, "cap height", c, "net digests per proof %+.1f" % (tot / seeds), "(%+.1f KB)" % (tot / seeds * 32 / 1000))
# fib 2^20: main + quotient trees of 2^23; FRI layer trees 2^20,2^17,2^14,2^11,2^8 (groups)
study("fib20", [23, 23, 20, 17, 14, 11, 8], 23)
zk = [16,13,15,15,14,16,8,8,8,8,14,8,11,10,9,8]
trees = []
for l in zk: trees += [l+3, l+3, l+3]  # main, aux, quotient (all zkvm tables have aux)
trees += [16, 13, 12, 11, 10, 9]  # rough FRI layer trees
study("zkvm16", trees, 19)
