import stat

from fleetstack.engine.runner.keys import project_key


def test_key_is_generated_once_with_private_permissions(tmp_path):
    first = project_key(tmp_path)
    assert first.public_key.startswith("ssh-ed25519 ")
    assert stat.S_IMODE(first.private_path.stat().st_mode) == 0o600
    assert stat.S_IMODE(first.private_path.parent.stat().st_mode) == 0o700
    again = project_key(tmp_path)
    assert again.public_key == first.public_key


def test_missing_public_half_is_rebuilt_from_the_private_key(tmp_path):
    key = project_key(tmp_path)
    (tmp_path / "ssh" / "id_ed25519.pub").unlink()
    assert project_key(tmp_path).public_key.split()[:2] == key.public_key.split()[:2]
