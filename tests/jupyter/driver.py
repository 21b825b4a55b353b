"""Drives toy's Jupyter kernel with the real jupyter_client (and nbclient).

Run by tests/jupyter.rs as `python driver.py SCENARIO` with TOY (the toy binary),
EXAMPLES (the examples/ directory) and isolated JUPYTER_* directories in the
environment. Every wait has a deadline; nothing sleeps for a fixed time. Exits
non-zero, with the failed assertion, if the kernel misbehaves.
"""

import os
import queue
import re
import signal
import subprocess
import sys
import time

import jupyter_client
import zmq

TOY = os.environ["TOY"]
EXAMPLES = os.environ["EXAMPLES"]
LOG = os.path.join(os.environ["JUPYTER_RUNTIME_DIR"], "kernel.log")
TIMEOUT = 30


def install():
    out = subprocess.run([TOY, "jupyter", "install"], capture_output=True, text=True, check=True)
    assert "Installed the Kaleidoscope kernel" in out.stdout, out


def start():
    install()
    km = jupyter_client.KernelManager(kernel_name="kaleidoscope")
    km.start_kernel(stderr=open(LOG, "w"))
    kc = km.client()
    kc.start_channels()
    kc.wait_for_ready(timeout=TIMEOUT)
    return km, kc


def deadline():
    return time.monotonic() + TIMEOUT


def left(until):
    remaining = until - time.monotonic()
    assert remaining > 0, "timed out"
    return remaining


def reply_to(kc, msg_id, channel="shell"):
    until = deadline()
    get = kc.get_shell_msg if channel == "shell" else kc.get_control_msg
    while True:
        msg = get(timeout=left(until))
        if msg["parent_header"].get("msg_id") == msg_id:
            return msg


def iopub_until(kc, msg_id, done):
    """iopub messages of the request msg_id, until done(type, content) is true."""
    until = deadline()
    seen = []
    while True:
        msg = kc.get_iopub_msg(timeout=left(until))
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        seen.append((msg["msg_type"], msg["content"]))
        if done(msg["msg_type"], msg["content"]):
            return seen


def idle(kind, content):
    return kind == "status" and content["execution_state"] == "idle"


def run(kc, code, **options):
    """Runs a cell: its reply's content and its iopub messages up to idle."""
    msg_id = kc.execute(code, **options)
    seen = iopub_until(kc, msg_id, idle)
    return reply_to(kc, msg_id)["content"], seen


def of(seen, kind):
    return [content for k, content in seen if k == kind]


def stdout(seen):
    return "".join(c["text"] for c in of(seen, "stream") if c["name"] == "stdout")


def result(seen):
    results = of(seen, "execute_result")
    assert len(results) <= 1, seen
    return results[0]["data"]["text/plain"] if results else None


def wait_for_log(text, times=1):
    """Waits until the kernel's stderr holds `text` `times` times."""
    until = deadline()
    while True:
        with open(LOG) as log:
            if log.read().count(text) >= times:
                return
        left(until)
        time.sleep(0.02)


def stop(km, kc):
    """A shutdown_request ends the kernel by itself, with status 0."""
    kc.stop_channels()
    km.request_shutdown()
    process = km.provisioner.process
    assert process.wait(timeout=TIMEOUT) == 0
    km.cleanup_resources()


def session():
    km, kc = start()
    info = kc.kernel_info(reply=True, timeout=TIMEOUT)["content"]
    assert info["status"] == "ok" and info["protocol_version"] == "5.3", info
    language = info["language_info"]
    assert language["name"] == "kaleidoscope", language
    assert language["file_extension"] == ".ks", language
    assert language["mimetype"] == "text/x-kaleidoscope", language

    # Definitions stay from cell to cell; counts, inputs, outputs, results.
    defs = "extern printd(x);\ndef fib(x)\n  if x < 3 then 1 else fib(x-1) + fib(x-2);"
    reply, seen = run(kc, defs)
    assert reply["status"] == "ok" and reply["execution_count"] == 1, reply
    assert of(seen, "execute_input") == [{"code": defs, "execution_count": 1}], seen
    assert seen[0] == ("status", {"execution_state": "busy"}), seen
    assert result(seen) is None, seen
    reply, seen = run(kc, "printd(fib(10));\nfib(20)")
    assert reply["status"] == "ok" and reply["execution_count"] == 2, reply
    assert stdout(seen) == "55.000000\n", seen
    assert result(seen) == "6765.0", seen
    assert of(seen, "execute_result")[0]["execution_count"] == 2, seen
    _, seen = run(kc, "0.0000001")
    assert result(seen) == "1e-07", seen

    # A diagnostic: an error with the source line and its marker, no colour.
    reply, seen = run(kc, "fib(1) +\n  nope(2)")
    assert reply["status"] == "error" and reply["execution_count"] == 4, reply
    [error] = of(seen, "error")
    assert error["ename"] == "Error" and "nope" in error["evalue"], error
    traceback = "\n".join(error["traceback"])
    assert "In[4]:2:3" in traceback, traceback
    assert "  nope(2)" in traceback and "^" in traceback, traceback
    assert "\x1b" not in traceback, traceback
    assert reply["traceback"] == error["traceback"], reply
    # ... and the session goes on.
    _, seen = run(kc, "fib(6)")
    assert result(seen) == "8.0", seen

    # Silent cells run but show nothing and take no number.
    reply, seen = run(kc, "printd(1); def later(x) x + 1", silent=True)
    assert reply["status"] == "ok", reply
    assert of(seen, "execute_input") == [] and result(seen) is None, seen
    reply, seen = run(kc, "later(1)")
    assert reply["execution_count"] == 6 and result(seen) == "2.0", (reply, seen)

    # The parser decides whether a cell is complete.
    for code, status in [("def f(x)", "incomplete"), ("def f(x) x", "complete"),
                         ("(1 +", "incomplete"), (":ir fib", "complete")]:
        answer = reply_to(kc, kc.is_complete(code))["content"]
        assert answer["status"] == status, (code, answer)

    # Completion of defined names and keywords, at the cursor.
    run(kc, "def fibonacci(n) fib(n)")
    code = "1 +\nfib"
    answer = kc.complete(code, len(code), reply=True, timeout=TIMEOUT)["content"]
    assert answer["matches"] == ["fib", "fibonacci"], answer
    assert (answer["cursor_start"], answer["cursor_end"]) == (4, 7), answer
    answer = kc.complete("ext", 3, reply=True, timeout=TIMEOUT)["content"]
    assert answer["matches"] == ["extern"], answer

    # Commands as cell magics.
    reply, seen = run(kc, ":ir fib")
    assert reply["status"] == "ok", reply
    assert "define" in stdout(seen) and "fib" in stdout(seen), seen
    reply, seen = run(kc, ":asm fib\nfib(3)")
    assert "ret" in stdout(seen) and result(seen) == "2.0", seen
    # :list shows the session's definitions in order, as the REPL's :list does.
    reply, seen = run(kc, ":list")
    assert reply["status"] == "ok", reply
    listing = stdout(seen).splitlines()
    heads = [line.split()[:2] for line in listing]
    assert heads == [["extern", "printd(x)"], ["def", "fib(x)"], ["def", "later(x)"],
                     ["def", "fibonacci(n)"]], seen
    assert listing[0].endswith("1 parameter, C function"), listing
    assert "compiled at tier" in listing[1], listing
    # :time runs its expression, streams its output, then the split; its value is
    # the cell's result unless code follows.
    timing = r"time: compile \d+\.\d{3} ms, run \d+\.\d{3} ms \(total \d+\.\d{3} ms\)"
    reply, seen = run(kc, ":time printd(fib(15))")
    assert reply["status"] == "ok" and result(seen) == "0.0", (reply, seen)
    assert re.fullmatch("610.000000\n" + timing + "\n", stdout(seen)), seen
    reply, seen = run(kc, ":time fib(12)\nfib(3)")
    assert result(seen) == "2.0", seen
    assert re.fullmatch(timing + "\n", stdout(seen)), seen
    reply, seen = run(kc, "\n:time nope(1)")
    assert reply["status"] == "error" and "nope" in reply["evalue"], reply
    # The marker points into the cell's own :time line.
    traceback = "\n".join(reply["traceback"])
    assert "In[%d]:2:7" % reply["execution_count"] in traceback, traceback
    assert ":time nope(1)" in traceback, traceback
    assert "time:" not in stdout(seen), seen
    reply, seen = run(kc, ":nope")
    assert reply["status"] == "error", reply
    assert of(seen, "error")[0]["evalue"] == "unknown command :nope (try :help)", seen
    # The REPL's grammar of commands: its suggestions, and its commands that a
    # notebook does not run, named as such.
    reply, seen = run(kc, ":lsit")
    assert reply["evalue"] == "unknown command :lsit; did you mean :list?", reply
    reply, seen = run(kc, ":undo")
    assert reply["status"] == "error", reply
    assert reply["evalue"].startswith(":undo works in the terminal REPL only"), reply
    reply, seen = run(kc, ":ir nothing")
    assert "no function `nothing`" in reply["evalue"], reply

    # The heartbeat echoes.
    context = zmq.Context.instance()
    beat = context.socket(zmq.REQ)
    beat.connect(f"tcp://{km.ip}:{km.hb_port}")
    beat.send(b"ping")
    assert beat.poll(TIMEOUT * 1000), "no heartbeat"
    assert beat.recv() == b"ping"
    beat.close(linger=0)
    stop(km, kc)


def hostile():
    """Bad signatures and malformed messages are logged and dropped."""
    km, kc = start()
    forger = km.client()
    forger.session.key = b"not the key"
    forger.start_channels()
    forged = forger.execute("printd(666)")
    wait_for_log("dropped a shell message: bad signature")
    raw = zmq.Context.instance().socket(zmq.DEALER)
    raw.connect(f"tcp://{km.ip}:{km.shell_port}")
    raw.send_multipart([b"no delimiter"])
    wait_for_log("dropped a shell message: no <IDS|MSG> delimiter")
    raw.send_multipart([b"<IDS|MSG>", b"", b"{", b"{}", b"{}", b"{}"])
    wait_for_log("dropped a shell message: bad signature", times=2)
    session = kc.session
    header = session.msg_header("execute_request")
    parts = [session.pack(p) for p in (header, {}, {}, [1, 2])]
    raw.send_multipart([b"<IDS|MSG>", session.sign(parts)] + parts)
    wait_for_log("dropped a shell message: malformed content")
    # The kernel is alive and ran none of it.
    reply, seen = run(kc, "extern printd(x); printd(1)")
    assert stdout(seen) == "1.000000\n", seen
    assert reply["execution_count"] == 1, reply
    try:
        forger.get_shell_msg(timeout=0.2)
        raise AssertionError(f"a forged request {forged} was answered")
    except queue.Empty:
        pass
    raw.close(linger=0)
    forger.stop_channels()
    stop(km, kc)


def children(pid):
    """The toy-executor processes whose parent is pid."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        name = stat[stat.index("(") + 1:stat.rindex(")")]
        ppid = int(stat[stat.rindex(")") + 2:].split()[1])
        if ppid == pid and name == "toy-executor":
            found.append(int(entry))
    return found


def running(kc, code, marker):
    """Starts a cell that runs forever; returns once its first output arrived."""
    msg_id = kc.execute(code)
    seen = iopub_until(kc, msg_id, lambda kind, c: kind == "stream" and marker in c["text"])
    return msg_id, seen


def endless(kc, how, code="printd(7);\nfor i = 0, 1 in 0", marker="7.000000"):
    """A cell that prints, then loops forever, is stopped by `how`."""
    msg_id, _ = running(kc, code, marker)
    how()
    reply = reply_to(kc, msg_id)["content"]
    assert reply["status"] == "error" and reply["ename"] == "Interrupted", reply
    seen = iopub_until(kc, msg_id, idle)
    assert of(seen, "error")[0]["ename"] == "Interrupted", seen


def interrupt():
    km, kc = start()
    run(kc, "extern printd(x); def sq(x) x * x;")
    # The kernelspec asks for interrupt_request messages on the control channel;
    # they are heard while a cell floods the frontend with output, too.
    endless(kc, km.interrupt_kernel)
    endless(kc, km.interrupt_kernel, "for i = 0, 1 in printd(i)", "1000.000000")
    _, seen = run(kc, "sq(3)")
    assert result(seen) == "9.0", seen
    # SIGINT works too.
    pid = km.provisioner.process.pid
    endless(kc, lambda: os.kill(pid, signal.SIGINT))
    _, seen = run(kc, "sq(4)")
    assert result(seen) == "16.0", seen
    # An interrupt while no cell runs does not stop the next one.
    request = kc.session.msg("interrupt_request", {})
    kc.control_channel.send(request)
    answer = reply_to(kc, request["header"]["msg_id"], "control")
    assert answer["content"]["status"] == "ok", answer
    _, seen = run(kc, "sq(5)")
    assert result(seen) == "25.0", seen
    stop(km, kc)


def crash():
    km, kc = start()
    pid = km.provisioner.process.pid
    run(kc, "extern printd(x); def twice(x) x * 2;")
    [first] = children(pid)
    msg_id, _ = running(kc, "printd(twice(21));\nfor i = 0, 1 in 0", "42.000000")
    os.kill(first, signal.SIGSEGV)
    reply = reply_to(kc, msg_id)["content"]
    assert reply["status"] == "error", reply
    assert "executor terminated by signal 11 (SIGSEGV)" in reply["evalue"], reply
    assert "In[2]:2:1" in "\n".join(reply["traceback"]), reply
    # A fresh executor, with every definition kept.
    _, seen = run(kc, "twice(5)")
    assert result(seen) == "10.0", seen
    [second] = children(pid)
    assert second != first
    stop(km, kc)


def notebook():
    """examples/mandelbrot.ipynb runs end to end and shows what is stored in it."""
    import nbformat
    from nbclient import NotebookClient

    install()
    path = os.path.join(EXAMPLES, "mandelbrot.ipynb")
    stored = nbformat.read(path, as_version=4)
    fresh = nbformat.read(path, as_version=4)
    client = NotebookClient(fresh, timeout=TIMEOUT, kernel_name="kaleidoscope",
                            record_timing=False)
    client.execute()

    def shown(cell):
        text = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
        results = [o.data["text/plain"] for o in cell.outputs if o.output_type == "execute_result"]
        errors = [o for o in cell.outputs if o.output_type == "error"]
        return text, results, errors, cell.execution_count

    code = [(s, f) for s, f in zip(stored.cells, fresh.cells) if s.cell_type == "code"]
    assert len(code) >= 5, "the notebook has its cells"
    for stored_cell, fresh_cell in code:
        assert not shown(fresh_cell)[2], fresh_cell.outputs
        if fresh_cell.source.startswith(":ir"):
            # LLVM's IR changes with toy's code generation: only its shape is checked.
            assert "define double @" in shown(fresh_cell)[0], fresh_cell.outputs
            continue
        assert shown(fresh_cell) == shown(stored_cell), (fresh_cell.source, shown(fresh_cell))
    with open(os.path.join(EXAMPLES, "mandel.out")) as f:
        expected = f.read()
    pictures = [shown(f)[0] for _, f in code if "mandel(-2.3" in f.source]
    assert pictures == [expected], pictures


if __name__ == "__main__":
    globals()[sys.argv[1]]()
    print(f"{sys.argv[1]}: ok")
