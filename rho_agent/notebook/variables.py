"""`--var NAME`: a kernel variable as a file in the workspace, and a sentence telling the model.

A pandas DataFrame becomes Parquet (CSV when pyarrow is missing), bytes and str become a file
as they are, anything `json.dumps` accepts becomes JSON. Anything else is an error that says
how to convert it.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from typing import Any

from rho_agent.errors import ConfigError


#: Where shipped variables go, relative to the workspace's working directory.
@dataclass(frozen=True)
class ShippedVar:
    name: str
    filename: str
    data: bytes
    description: (
        str  # e.g. "pandas DataFrame, 120 rows x 3 columns (region, month, sales), Parquet"
    )

    def note(self, path: str) -> str:
        """The line added to the prompt."""
        return f"- `{self.name}` ({self.description}) is at `{path}`"


def ship(name: str, namespace: dict[str, Any]) -> ShippedVar:
    """Serialize the variable `name` of `namespace` for the workspace."""
    if name not in namespace:
        raise ConfigError(
            f"--var {name}: no variable named {name!r} in the notebook. Define it first."
        )
    value = namespace[name]
    if _is_dataframe(value):
        return _dataframe(name, value)
    if isinstance(value, bytes | bytearray | memoryview):
        data = bytes(value)
        return ShippedVar(name, f"{name}.bin", data, f"bytes, {len(data):,} bytes")
    if isinstance(value, str):
        data = value.encode()
        return ShippedVar(name, f"{name}.txt", data, f"text, {len(value):,} characters")
    try:
        data = json.dumps(value, indent=2).encode()
    except (TypeError, ValueError):
        raise ConfigError(
            f"--var {name}: a {type(value).__name__} cannot be shipped. Use a pandas DataFrame, "
            "str, bytes, or a JSON-able value (dict, list, number), e.g. convert it with "
            "pd.DataFrame(...) or json-friendly types first."
        ) from None
    return ShippedVar(name, f"{name}.json", data, f"JSON ({type(value).__name__})")


def _is_dataframe(value: Any) -> bool:
    # No pandas import unless the value comes from it.
    return type(value).__module__.startswith("pandas") and type(value).__name__ == "DataFrame"


def _dataframe(name: str, df: Any) -> ShippedVar:
    columns = ", ".join(str(c) for c in list(df.columns)[:20]) + (
        ", …" if len(df.columns) > 20 else ""
    )
    shape = f"{len(df):,} rows x {len(df.columns)} columns ({columns})"
    try:
        buffer = io.BytesIO()
        df.to_parquet(buffer, index=False)
    except (ImportError, ValueError, TypeError):  # no pyarrow, or columns Parquet cannot hold
        data = df.to_csv(index=False).encode()
        return ShippedVar(name, f"{name}.csv", data, f"pandas DataFrame, {shape}, CSV")
    return ShippedVar(
        name, f"{name}.parquet", buffer.getvalue(), f"pandas DataFrame, {shape}, Parquet"
    )
