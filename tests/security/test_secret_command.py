"""`dstack secret set/list/delete`: values go into an encrypted 0600 store, never out."""

from __future__ import annotations

import stat

from fleetstack.engine.secrets import SecretStore, key_path, store_path

from .conftest import dstack

VALUE = "hf_StoredSecretValue_5c1e"


def test_set_list_delete_and_the_value_is_never_printed(home):
    set_ = dstack("secret", "set", "HF_TOKEN", VALUE)
    assert (set_.returncode, set_.stdout) == (0, "secret HF_TOKEN set (main)\n")
    again = dstack("secret", "set", "HF_TOKEN", "-", input=VALUE + "-2\n")
    assert (again.returncode, again.stdout) == (0, "secret HF_TOKEN updated (main)\n")
    assert dstack("secret", "set", "WANDB", "w").returncode == 0
    listing = dstack("secret", "list")
    assert (listing.returncode, listing.stdout) == (0, "HF_TOKEN\nWANDB\n")
    # stdin minus the shell's newline is the value
    assert SecretStore().values() == {"HF_TOKEN": VALUE + "-2", "WANDB": "w"}
    deleted = dstack("secret", "delete", "WANDB")
    assert (deleted.returncode, deleted.stdout) == (0, "secret WANDB deleted (main)\n")
    missing = dstack("secret", "delete", "WANDB")
    assert missing.returncode == 1
    assert missing.stderr.splitlines() == ["no secret WANDB in project main (`dstack secret list`)"]
    for proc in (set_, again, listing, deleted, missing):
        assert VALUE not in proc.stdout + proc.stderr


def test_the_store_is_encrypted_private_and_its_key_kept_apart(home):
    assert dstack("secret", "set", "HF_TOKEN", VALUE, umask=0o022).returncode == 0
    store, key = store_path(), key_path()
    assert store.parent != key.parent
    for path in (store, key):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700, path.parent
    assert VALUE.encode() not in store.read_bytes()
    # another key cannot read it: the message says what to do, in one line
    key.write_bytes(b"A" * 43 + b"=\n")
    listing = dstack("secret", "list")
    assert listing.returncode == 1
    assert len(listing.stderr.splitlines()) == 1
    assert "cannot be decrypted" in listing.stderr and VALUE not in listing.stderr


def test_without_a_value_and_no_terminal_it_says_how_to_pass_one():
    proc = dstack("secret", "set", "HF_TOKEN")
    assert proc.returncode == 1
    assert proc.stderr.splitlines() == [
        "dstack secret set HF_TOKEN: no value given and stdin is not a terminal: pass the "
        "value, or - to read it from stdin"
    ]


def test_a_name_that_cannot_be_a_variable_is_refused():
    proc = dstack("secret", "set", "1BAD", "x")
    assert proc.returncode == 1
    assert proc.stderr.splitlines() == [
        "secret name '1BAD': use letters, digits and _, not starting with a digit (it is used "
        "as ${{ secrets.NAME }})"
    ]
