"""The vendored camera decoder: its WebAssembly is the build its JavaScript was made for."""

import hashlib
import re
from pathlib import Path

VENDOR = Path(__file__).resolve().parents[1] / "static" / "xiuhua" / "vendor" / "zxing-wasm"


def test_the_zxing_wasm_binary_is_the_one_its_loader_names():
    loader = (VENDOR / "zxing-reader.js").read_text()
    named = re.search(r"ZXING_WASM_SHA256=`([0-9a-f]{64})`", loader).group(1)
    version = re.search(r"ZXING_WASM_VERSION=(\w+)", loader).group(1)
    title = (VENDOR / "README.md").read_text().splitlines()[0]
    assert re.search(rf"var {version}=`([\d.]+)`", loader).group(1) in title
    assert hashlib.sha256((VENDOR / "zxing_reader.wasm").read_bytes()).hexdigest() == named
