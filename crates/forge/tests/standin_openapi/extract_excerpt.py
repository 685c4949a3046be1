#!/usr/bin/env python3
"""Cuts the excerpt of Gitea's swagger description that the stand-in test needs: the
operations cc-ci calls, and every response and definition they reach through `$ref`.

Usage: extract_excerpt.py FULL_SWAGGER_V1_JSON SOURCE_URL > gitea-swagger-excerpt.json
"""
import json
import sys

# (path, method): every call cc-ci's GiteaClient makes (crates/forge/src/client.rs).
OPERATIONS = [
    ("/repos/{owner}/{repo}/pulls", "get"),
    ("/repos/{owner}/{repo}/pulls/{index}", "get"),
    ("/repos/{owner}/{repo}/issues/comments", "get"),
    ("/repos/{owner}/{repo}/issues/{index}/comments", "get"),
    ("/repos/{owner}/{repo}/issues/{index}/comments", "post"),
    ("/repos/{owner}/{repo}/issues/{index}/timeline", "get"),
    ("/repos/{owner}/{repo}/issues/comments/{id}", "patch"),
    ("/repos/{owner}/{repo}/collaborators/{collaborator}/permission", "get"),
    ("/repos/{owner}/{repo}/statuses/{sha}", "post"),
    ("/repos/{owner}/{repo}/hooks", "get"),
    ("/repos/{owner}/{repo}/hooks", "post"),
    ("/repos/{owner}/{repo}/hooks/{id}", "patch"),
    ("/repos/{owner}/{repo}/hooks/{id}", "delete"),
]


def refs(node):
    """Every `$ref` below `node`."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from refs(item)


def main(full_path, source_url):
    with open(full_path, encoding="utf-8") as f:
        full = json.load(f)
    paths = {}
    for path, method in OPERATIONS:
        paths.setdefault(path, {})[method] = full["paths"][path][method]
    excerpt = {
        "swagger": full["swagger"],
        "info": dict(full["info"], **{"x-excerpt-of": source_url}),
        "basePath": full["basePath"],
        "paths": paths,
        "responses": {},
        "definitions": {},
    }
    pending = list(refs(paths))
    while pending:
        ref = pending.pop()
        _, section, name = ref.split("/")
        if name in excerpt[section]:
            continue
        excerpt[section][name] = full[section][name]
        pending.extend(refs(full[section][name]))
    json.dump(excerpt, sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
