from fleetstack.engine.backends.local.host import detect_host, parse_nvidia_smi


def test_nvidia_smi_lines_become_catalog_gpu_names():
    gpus = parse_nvidia_smi("NVIDIA A100-SXM4-80GB, 81920 MiB\nTesla T4, 15360 MiB\n")
    assert [(g.name, g.memory_gb) for g in gpus] == [("A100", 80.0), ("T4", 15.0)]


def test_detect_host_reports_cpus_memory_and_disk():
    host = detect_host()
    assert host.cpus >= 1 and host.memory_gb > 0 and host.disk_gb > 0
    assert host.cpu_arch in ("x86", "arm")
