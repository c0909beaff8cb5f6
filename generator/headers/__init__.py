"""Reading existing C headers: `ffispec import` (headers -> a draft spec whose every guess says
where it came from) and `ffispec audit` (what the headers contradict).

preprocess (the system compiler) -> declarations (pycparser) + comments (the raw text, by line)
-> doctext (what the comments state) -> infer (a draft spec with provenance) / audit (findings).
Nothing here names a particular interface."""
