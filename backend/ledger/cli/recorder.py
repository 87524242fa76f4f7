"""`ledger recorder ...`: the recorder on an artist's machine or a generation script.

`watch FOLDER` records every file created or changed in the folder until stopped; `generate`
wraps one AI generation (model, prompt, inputs, output); `flush` sends what is queued; `status`
says what is queued, sent and refused. All read the configuration `ledger devices enrol` wrote
(recorder.json) and the device key's keystore (password: LEDGER_DEVICE_PASSWORD, or asked).
"""

import hashlib
import os
import signal
import threading
from pathlib import Path
from typing import Annotated

import typer

from ledger.cli.works import console
from ledger_recorder import Recorder, RecorderConfig
from ledger_recorder.client import load_key, sha256_of

app = typer.Typer(help="The recorder: production records made by this machine, without anyone doing anything.", no_args_is_help=True, pretty_exceptions_enable=False)
DEFAULT_CONFIG = Path.home() / ".ledger" / "recorder.json"
Config = Annotated[Path, typer.Option("--config", envvar="LEDGER_RECORDER_CONFIG", exists=True, dir_okay=False, help="recorder.json")]


def _recorder(config: Path) -> Recorder:
    cfg = RecorderConfig.load(config)
    password = os.environ.get("LEDGER_DEVICE_PASSWORD") or str(typer.prompt("device keystore password", hide_input=True))
    return Recorder(cfg, load_key(Path(cfg.keystore), password))


def _report(recorder: Recorder) -> None:
    result = recorder.flush()
    counts = recorder.queue.counts()
    console.print(f"queued {counts['pending']}, sent {counts['sent']}, refused {counts['refused']}" + (f" ({result.error})" if result.error else ""))


@app.command("watch")
def watch(
    folder: Annotated[Path, typer.Argument(exists=True, file_okay=False)],
    config: Config = DEFAULT_CONFIG,
    settle: Annotated[float, typer.Option(min=0.1, help="Seconds a file must stay unchanged before it is recorded.")] = 1.0,
    flush_every: Annotated[float, typer.Option(min=0.5, help="Seconds between sends to the ledger.")] = 5.0,
) -> None:
    """Records every file created or changed in FOLDER (and what changed while not watching), until stopped."""
    from ledger_recorder.watch import Watcher

    recorder = _recorder(config)
    watcher = Watcher(recorder, folder, settle_s=settle, flush_every_s=flush_every)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    watcher.start()
    console.print(f"recording {folder.resolve()} as device {recorder.config.device}; stop with Ctrl-C")
    stop.wait()
    watcher.stop()
    _report(recorder)
    recorder.close()


@app.command("generate")
def generate(
    output: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="The generated file.")],
    model: Annotated[int, typer.Option(min=1, help="The registered model that generated it.")],
    prompt: Annotated[str | None, typer.Option(help="The prompt; its SHA-256 is recorded (promptHash), not the text.")] = None,
    input_file: Annotated[list[Path] | None, typer.Option("--input", exists=True, dir_okay=False, help="An input file (image-to-image, reference).")] = None,
    tool: Annotated[str, typer.Option(help="The generation app or service.")] = "generation script",
    tool_version: Annotated[str, typer.Option(help="Its version.")] = "",
    config: Config = DEFAULT_CONFIG,
) -> None:
    """Records one AI generation: model, prompt hash, inputs and output."""
    recorder = _recorder(config)
    inputs = [sha256_of(p) for p in input_file or []]
    prompt_hash = hashlib.sha256(prompt.encode()).digest() if prompt is not None else None
    digest = sha256_of(output)
    record_hash = recorder.record("generate", digest, inputs, tool=tool, tool_version=tool_version, model_id=model, prompt_hash=prompt_hash)
    recorder.queue.remember(str(output.resolve()), "0x" + digest.hex())  # a watcher on the folder does not record it again
    console.print(f"record {record_hash}")
    _report(recorder)
    recorder.close()


@app.command("flush")
def flush(config: Config = DEFAULT_CONFIG) -> None:
    """Sends what is queued now."""
    recorder = _recorder(config)
    _report(recorder)
    recorder.close()


@app.command("status")
def status(config: Config = DEFAULT_CONFIG) -> None:
    """What is queued, sent and refused (with the ledger's reasons)."""
    cfg = RecorderConfig.load(config)
    from ledger_recorder.queue import RecordQueue

    queue = RecordQueue(Path(cfg.queue))
    counts = queue.counts()
    console.print(f"device {cfg.device}: queued {counts['pending']}, sent {counts['sent']}, refused {counts['refused']}")
    for record_hash, reason in queue.refused()[:20]:
        console.print(f"  refused {record_hash}: {reason}")
    queue.close()
