#!/usr/bin/env python3
"""Writes the benchmarks' balikan upload: 5 MB of CSV rows the parser reads in full.

The NIKs are unknown to every institution, so the mock answers 422 with a capped list of
problems: the whole file is parsed and checked, and nothing is stored between two uploads.
Used by bench/run.sh (lookups during uploads) and bench/upload-mem.sh (peak memory).

    python3 bench/upload-csv.py OUT.csv
"""
import sys

with open(sys.argv[1], "w") as f:
    f.write("NIK,NO_RM,GOL_DARAH,NO_SURAT_KEMATIAN\n")
    n = 0
    while f.tell() < 5 * 1024 * 1024:
        f.write("%016d,RM-%08d,O,%s\n" % (3313010101900000 + n, n, "SK/" + "X" * 90))
        n += 1
