"""Asking a running `cxy serve` on the same database for the lists a command would compute itself
(api/local_cli.py answers): over loopback, with the token from the server's discovery file, in a
fraction of the time it takes this process to load the model and the indexes.

``ask`` answers the lists, raises ``Declined`` with the matcher's own message (an unknown id, an option
that cannot be answered: the message this process would print), or answers None when the server cannot
be used (none running, a stale file, an error, another version), and the caller computes locally."""

import http.client
import json

import typer

from matcher.list_requests import Batch


class Declined(Exception):
    """The server's answer is the matcher's refusal; its message is what the command prints."""


def _hint(text: str) -> None:
    typer.echo(f"提示：{text}", err=True)


def ask(db_url: str, batch: Batch, verbose: bool = False) -> list[dict] | None:
    from matcher.local_server import BATCH_PATH, TOKEN_HEADER, find, fingerprint

    server = find(db_url)
    if server is None:
        return None
    where = f"正在运行的 cxy serve（进程 {server['pid']}，端口 {server['port']}）"
    body = json.dumps({"batch": batch.to_dict(), "fingerprint": fingerprint()}, ensure_ascii=False).encode()
    conn = http.client.HTTPConnection(server["host"], server["port"], timeout=3)
    try:
        try:
            conn.request("POST", BATCH_PATH, body, {"Content-Type": "application/json",
                                                    TOKEN_HEADER: server["token"]})
        except OSError:  # nothing listens there (a server killed without removing its file, or starting)
            return None
        conn.sock.settimeout(60 + 5 * len(batch.requests))  # ranking takes a while; a hung server does not
        try:
            response = conn.getresponse()
            status, data = response.status, response.read()
        except OSError as exc:
            # The request was sent: the server may still store these lists, so computing them here too
            # could record them twice.
            typer.echo(f"错误：{where}没有按时回答（{exc.__class__.__name__}），它可能仍在计算并保存推荐记录；"
                       "稍后再试，或加 --local 在本进程内计算", err=True)
            raise typer.Exit(1) from None
    finally:
        conn.close()
    try:
        answer = json.loads(data)
    except ValueError:
        answer = {}
    if status == 200 and isinstance(answer.get("lists"), list):
        if verbose:
            _hint(f"由{where}计算")
        return answer["lists"]
    if status == 422 and answer.get("error"):
        raise Declined(answer["detail"])
    if answer.get("stale"):
        _hint(f"{where}启动后程序或设置有变化，改为在本进程内计算（重启服务后命令行会再用它）")
    else:
        _hint(f"{where}未能回答（HTTP {status}：{answer.get('detail', '')}），改为在本进程内计算")
    return None
