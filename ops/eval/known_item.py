#!/usr/bin/env python3
"""known_item.py — known-item retrieval figures of a running stack, over
its HTTP API, for the set ops/eval/manpages.py builds: loads the documents
into a vector index (embedded by embedd, indexed by vectord with their
text, so the keyword side has them too), then asks every query of one
split in each mode and prints recall@1, recall@10, MRR@10 and ms/query.

    ops/eval/known_item.py --set DIR [--url http://127.0.0.1:8080]
                           [--index NAME] [--split report|tune|all] [--skip-load]
                           [--model NAME] [--kind hnsw|flat]

--model names the embedding model (default: /v1/embed's default); it is
used for the documents and recorded in the index, so the text queries use
it too. --kind flat makes the vector side an exact scan, to tell the
embedder's misses from the HNSW graph's.

A stand-in until `lakehouse eval retrieval` (issue 10) measures hybrid
fusion too; only the standard library is used.
"""
import argparse
import json
import time
import urllib.error
import urllib.request

BATCH = 256


def post(url, path, body):
    req = urllib.request.Request(url + path, data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=300) as r:
            return json.load(r)
    except urllib.error.HTTPError as e:
        raise SystemExit(f"{path}: {e.code} {e.read().decode(errors='replace')}")


def read_jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def embed(url, texts, model):
    body = {"texts": texts}
    if model:
        body["model"] = model
    return post(url, "/v1/embed", body)


def load(url, index, docs, model, kind):
    probe = embed(url, ["probe"], model)
    create = {"index": index, "dimension": probe["dimension"], "model": probe["model"]}
    if kind:
        create["kind"] = kind
    post(url, "/v1/vectors/indexes", create)
    print(f"index {index}: model {probe['model']}, kind {kind or 'default'}")
    t0 = time.time()
    for at in range(0, len(docs), BATCH):
        chunk = docs[at:at + BATCH]
        vectors = embed(url, [d["text"] for d in chunk], probe["model"])["vectors"]
        items = [{"id": d["id"], "vector": v, "text": d["text"], "metadata": d["metadata"]}
                 for d, v in zip(chunk, vectors)]
        post(url, f"/v1/vectors/indexes/{index}/upsert", {"items": items})
    return time.time() - t0


def evaluate(url, index, queries, mode):
    hits1 = hits10 = 0
    rr = 0.0
    t0 = time.time()
    for q in queries:
        body = {"index": index, "text": q["query"], "k": 10}
        if mode == "keyword":
            body["mode"] = "keyword"
        ids = [h["id"] for h in post(url, "/v1/vectors/search", body)["hits"]]
        want = q["relevant"][0]
        if want in ids:
            rank = ids.index(want) + 1
            hits1 += rank == 1
            hits10 += 1
            rr += 1.0 / rank
    ms = (time.time() - t0) * 1000 / len(queries)
    n = len(queries)
    return {"mode": mode, "queries": n, "recall@1": hits1 / n, "recall@10": hits10 / n,
            "mrr@10": rr / n, "ms/query": ms}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--set", required=True, help="the folder manpages.py wrote")
    ap.add_argument("--url", default="http://127.0.0.1:8080")
    ap.add_argument("--index", default="manpages")
    ap.add_argument("--split", default="report", choices=["report", "tune", "all"])
    ap.add_argument("--skip-load", action="store_true")
    ap.add_argument("--model", help="embedding model (default: /v1/embed's default)")
    ap.add_argument("--kind", choices=["hnsw", "flat"], help="index structure (default: vectord's)")
    args = ap.parse_args()
    docs = read_jsonl(f"{args.set}/docs.jsonl")
    queries = [q for q in read_jsonl(f"{args.set}/queries.jsonl")
               if args.split == "all" or q["split"] == args.split]
    if not args.skip_load:
        secs = load(args.url, args.index, docs, args.model, args.kind)
        print(f"loaded {len(docs)} documents in {secs:.1f} s "
              f"(embed + vector + keyword, durable)")
    print("| mode | queries | recall@1 | recall@10 | MRR@10 | ms/query |")
    print("|---|---:|---:|---:|---:|---:|")
    for mode in ("keyword", "vector"):
        r = evaluate(args.url, args.index, queries, mode)
        print(f"| {r['mode']} | {r['queries']} | {r['recall@1']:.3f} | {r['recall@10']:.3f} | "
              f"{r['mrr@10']:.3f} | {r['ms/query']:.2f} |")


if __name__ == "__main__":
    main()
