#!/usr/bin/env python3
"""Writes the fixtures of `manifest.json`: Gitea's answers to the calls cc-ci makes, in the
full shape Gitea's API description (../standin_openapi/gitea-swagger-excerpt.json) gives
them (every documented field, `null` where Gitea's Go pointers are unset), with the values
of one story: PR #7 of coop-cloud/traefik by alice, a `!testme` and the bot's reply.

Gitea's description carries no example answers for these operations, so the values are
written here; the shapes come from the description, and the stand-in test checks each
fixture against it. Re-run after updating the excerpt: python3 make_fixtures.py
"""
import json
import pathlib

HERE = pathlib.Path(__file__).parent
SPEC = json.loads((HERE / "../standin_openapi/gitea-swagger-excerpt.json").read_text())
WEB = "https://git.coopcloud.example"
API = f"{WEB}/api/v1"
SHA = "9b3e0c8d1f2a4b5c6d7e8f90a1b2c3d4e5f60718"
BASE_SHA = "1d2c3b4a5f6e7d8c9b0a1f2e3d4c5b6a79807162"
T0, T1 = "2026-11-30T18:04:05+01:00", "2026-11-30T18:09:41+01:00"
NESTED_NULL = {"Organization", "Team", "RepoTransfer", "Milestone", "ExternalTracker",
               "ExternalWiki", "InternalTracker", "Permission", "Repository", "User"}


def blank(name):
    """Every documented field of `name`, with a zero value of its type."""
    out = {}
    for prop, schema in SPEC["definitions"][name]["properties"].items():
        if "$ref" in schema:
            ref = schema["$ref"].split("/")[-1]
            out[prop] = None if ref in NESTED_NULL else blank(ref)
        elif schema.get("type") == "array":
            out[prop] = []
        elif schema.get("format") == "date-time":
            out[prop] = None
        else:
            out[prop] = {"integer": 0, "boolean": False, "object": {}}.get(
                schema.get("type"), schema.get("enum", [""])[0])
    return out


def user(uid, login):
    return dict(blank("User"), id=uid, login=login, full_name=login.title(),
                email=f"{login}@noreply.coopcloud.example", active=True,
                avatar_url=f"{WEB}/avatars/{uid:032x}", html_url=f"{WEB}/{login}",
                created="2024-03-02T10:00:00+01:00", last_login=T0, visibility="public")


def repo():
    return dict(blank("Repository"), id=42, name="traefik", full_name="coop-cloud/traefik",
                owner=user(2, "coop-cloud"), html_url=f"{WEB}/coop-cloud/traefik",
                clone_url=f"{WEB}/coop-cloud/traefik.git", default_branch="main",
                created_at="2024-03-02T10:05:00+01:00", updated_at=T0,
                has_pull_requests=True, has_issues=True, object_format_name="sha1")


def pull(number, state, branch, sha, head_repo):
    html = f"{WEB}/coop-cloud/traefik/pulls/{number}"
    return dict(blank("PullRequest"), id=9000 + number, number=number, state=state,
                url=html, html_url=html, diff_url=f"{html}.diff", patch_url=f"{html}.patch",
                title=f"Bump to {branch}", body="", user=user(3, "alice"), mergeable=True,
                base=dict(blank("PRBranchInfo"), label="main", ref="main", sha=BASE_SHA,
                          repo_id=42, repo=repo()),
                head=dict(blank("PRBranchInfo"), label=branch, ref=branch, sha=sha,
                          repo_id=42 if head_repo else 0, repo=repo() if head_repo else None),
                merge_base=BASE_SHA, created_at=T0, updated_at=T1, comments=2,
                additions=3, deletions=1, changed_files=1)


def comment(cid, login, uid, body, number, on_pull, created, updated):
    kind = "pulls" if on_pull else "issues"
    html = f"{WEB}/coop-cloud/traefik/{kind}/{number}"
    return dict(blank("Comment"), id=cid, user=user(uid, login), body=body,
                html_url=f"{html}#issuecomment-{cid}",
                pull_request_url=html if on_pull else "", issue_url="" if on_pull else html,
                created_at=created, updated_at=updated)


def status():
    return dict(blank("CommitStatus"), id=311, status="pending", context="cc-ci",
                description="queued", target_url="https://ci.coopcloud.example/runs/17",
                url=f"{API}/repos/coop-cloud/traefik/statuses/{SHA}",
                creator=user(5, "cc-ci"), created_at=T1, updated_at=T1)


TESTME = comment(501, "alice", 3, "!testme", 7, True, T0, T0)
ISSUE_NOTE = comment(502, "bob", 4, "seen on 2.11 too", 8, False, T0, T1)
BOT = comment(503, "cc-ci", 5, "⏳ queued", 7, True, T1, T1)
FIXTURES = {
    "pulls-open.json": [pull(7, "open", "bump-3.1", SHA, True),
                        pull(6, "open", "from-a-deleted-fork", "ab" * 20, False)],
    "pull.json": pull(7, "open", "bump-3.1", SHA, True),
    "comments-repo.json": [TESTME, ISSUE_NOTE, BOT],
    "comments-issue.json": [TESTME, BOT],
    "comment-created.json": BOT,
    "comment-edited.json": dict(BOT, body="✅ passed", updated_at="2026-11-30T18:31:12+01:00"),
    "permission.json": dict(blank("RepoCollaboratorPermission"), permission="write",
                            role_name="write", user=user(3, "alice")),
    "status-created.json": status(),
}

for name, body in FIXTURES.items():
    (HERE / name).write_text(json.dumps(body, indent=1, ensure_ascii=False) + "\n")
