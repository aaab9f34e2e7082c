"""A second process that holds a firm's keys in its warm cache, for revocation tests.

Run as `python -m tests.keys.key_holder FIRM_ID BLOB_HEX`: it unseals the blob once (so the
data key is cached), prints "ready", then answers every line "try" on stdin with "ok" if it can
still unseal the blob, or "refused <code>" if it cannot. It stands for any web or worker
process of the deployment.
"""

from __future__ import annotations

import sys


def main() -> None:
    import django

    django.setup()
    from firms.models import Firm
    from keys.envelope import unseal
    from keys.errors import CiphertextInvalid, KeyUnavailable

    firm = Firm.objects.get(pk=int(sys.argv[1]))
    blob = bytes.fromhex(sys.argv[2])

    def attempt() -> str:
        try:
            unseal(firm, blob, record="person:1", field="my_number")
        except KeyUnavailable as error:
            return f"refused {error.code}"
        except CiphertextInvalid:
            return "refused ciphertext_invalid"
        return "ok"

    print("ready" if attempt() == "ok" else "cold", flush=True)
    for line in sys.stdin:
        if line.strip() == "try":
            print(attempt(), flush=True)


if __name__ == "__main__":
    main()
