"""VM lifecycle on real QEMU: create, console, address, stop, start, reboot,
force-stop, delete, each checked in libvirt and inside the guest."""
import os
import subprocess

from conftest import NESTCLOUD, Cloud, virsh, wait_for


def test_status_reports_accelerator(cloud):
    s = cloud.get("/v1/status")
    assert s["accelerator"] in ("kvm", "tcg")
    assert s["store"] == "sqlite" and s["bus"] == "local"
    hosts = cloud.get("/v1/hosts")["hosts"]
    assert len(hosts) == 1
    h = hosts[0]
    assert h["state"] == "up"
    assert h["capacity"]["vcpus"] >= 1 and h["capacity"]["memory_mib"] >= 512
    # the image built with the project is registered as "test"
    assert any(i["name"] == "test" for i in cloud.get("/v1/images")["images"])


def test_create_runs_a_real_guest(cloud):
    vm = cloud.create_vm("life", vcpus=1, memory_mib=384, max_memory_mib=1024,
                         ssh_keys=["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGk9 tester"])
    assert vm["state"] == "running"
    assert vm["host"]
    # the placement says where, by which policy, and what the host has left
    assert "spread choice" in vm["placement"] and "allocated" in vm["placement"]
    # libvirt: a running domain whose UUID is the VM id, named and sized as asked
    assert cloud.domains() == {vm["id"]: "running"}
    xml = virsh("dumpxml", vm["id"])
    assert f"<uuid>{vm['id']}</uuid>" in xml
    assert "<title>life</title>" in xml
    assert "<memory unit='KiB'>393216</memory>" in xml
    # the root disk is an overlay on the image in the pool: launch copied nothing
    inst = os.path.join(cloud.state, "instances", vm["id"])
    info = os.popen(f"qemu-img info -U {inst}/root.qcow2").read()
    assert "backing file:" in info and os.path.join(cloud.state, "images") in info
    # inside the guest: it booted, read its seed (host name, key) and counts its CPUs
    cloud.wait_console("life", "NC-SEED instance-id=" + vm["id"])
    assert "hostname=life keys=1" in cloud.console("life")
    cloud.wait_console("life", "NC-STATS cpus=1")
    # it got an address on the NAT network, and the API reports it
    addr = wait_for("an address", lambda: cloud.vm("life")["address"], timeout=60)
    assert f"NC-NET eth0 addr={addr}" in cloud.console("life")


def test_cli_show_and_list(cloud):
    out = cloud.cli("vm", "list").stdout
    assert "life" in out and "running" in out
    out = cloud.cli("vm", "show", "life").stdout
    assert "state         running" in out
    assert cloud.cli("vm", "show", "nosuch", check=False).returncode != 0


def test_stop_start_reboot(cloud):
    cloud.action("life", "stop", timeout=30)
    assert cloud.vm("life")["state"] == "stopped"
    assert cloud.domains()[cloud.vm("life")["id"]] == "shut off"
    # the guest shut down cleanly through ACPI, it was not pulled
    assert "NC-POWEROFF" in cloud.console("life")

    # stopping a stopped VM is refused and changes nothing
    status, body = cloud.request("POST", "/v1/vms/life/actions", {"action": "stop"})
    assert status == 409 and body["error"]["code"] == "conflict"

    boots = cloud.console("life").count("NC-BOOT")
    cloud.action("life", "start")
    assert cloud.vm("life")["state"] == "running"
    wait_for("a second boot", lambda: cloud.console("life").count("NC-BOOT") > boots, timeout=90)

    status, body = cloud.request("POST", "/v1/vms/life/actions", {"action": "start"})
    assert status == 409

    boots = cloud.console("life").count("NC-BOOT")
    cloud.wait_console("life", "NC-STATS", after=len(cloud.console("life")) - 200)
    cloud.action("life", "reboot", timeout=30)
    wait_for("a boot after reboot", lambda: cloud.console("life").count("NC-BOOT") > boots,
             timeout=90)
    assert cloud.vm("life")["state"] == "running"


def test_force_stop(cloud):
    cloud.action("life", "force-stop")
    assert cloud.vm("life")["state"] == "stopped"
    assert cloud.domains()[cloud.vm("life")["id"]] == "shut off"


def test_stop_while_booting_is_still_clean(cloud):
    """A stop that comes while the guest boots finds no one listening for the
    power button yet; the request is repeated until the guest takes it."""
    cloud.create_vm("early", memory_mib=256, max_memory_mib=256)
    cloud.action("early", "stop", timeout=60)
    assert cloud.vm("early")["state"] == "stopped"
    assert "NC-POWEROFF" in cloud.console("early")
    cloud.delete_vm("early")


def test_guest_poweroff_is_noticed(cloud):
    """A guest that shuts itself down is seen as stopped."""
    vm = cloud.create_vm("selfstop", user_data="#!/bin/sh\nsleep 2\npoweroff -f\n")
    wait_for("the guest to power off", lambda: cloud.vm("selfstop")["state"] == "stopped",
             timeout=120)
    assert cloud.vm("selfstop")["desired"] == "stopped"
    cloud.delete_vm("selfstop")
    assert vm["id"] not in cloud.domains()


def test_delete_leaves_nothing(cloud):
    vm = cloud.vm("life")
    inst = os.path.join(cloud.state, "instances", vm["id"])
    assert os.path.isdir(inst)
    host_before = cloud.get("/v1/hosts")["hosts"][0]["allocated"]
    cloud.delete_vm("life")
    status, _ = cloud.request("GET", "/v1/vms/life")
    assert status == 404
    assert vm["id"] not in cloud.domains()
    assert virsh("dominfo", vm["id"], check=False).strip() == ""
    assert not os.path.exists(inst)
    host_after = cloud.get("/v1/hosts")["hosts"][0]["allocated"]
    assert host_after["vcpus"] == host_before["vcpus"] - vm["vcpus"]
    assert host_after["memory_mib"] == host_before["memory_mib"] - vm["memory_mib"]
    # the operation history tells the story
    kinds = [o["kind"] for o in cloud.get(f"/v1/operations?target={vm['id']}")["operations"]]
    for k in ("vm.create", "vm.stop", "vm.start", "vm.reboot", "vm.force-stop", "vm.delete"):
        assert k in kinds


def test_cli_create_with_progress_and_delete(cloud):
    r = cloud.cli("vm", "create", "clivm", "--image", "test", "--memory", "256M", "--vcpus", "1")
    assert "creating VM clivm: done" in r.stdout
    vm = cloud.vm("clivm")
    assert vm["memory_mib"] == 256 and vm["state"] == "running"
    r = cloud.cli("vm", "delete", "clivm", "--json")
    assert '"status": "succeeded"' in r.stdout
    assert vm["id"] not in cloud.domains()


def test_create_without_start(cloud):
    vm = cloud.create_vm("dormant", start=False, memory_mib=256)
    assert vm["state"] == "stopped" and vm["desired"] == "stopped"
    assert cloud.domains()[vm["id"]] == "shut off"
    assert cloud.console("dormant") == ""
    cloud.action("dormant", "start")
    cloud.wait_console("dormant", "NC-BOOT")
    cloud.delete_vm("dormant")


def test_purge_leaves_no_domain_and_no_pool():
    """`nestcloud purge` (uninstall, test teardown) removes the cloud's
    domains and its two storage pools, not only the domains."""
    c = Cloud("purge").start()
    try:
        c.create_vm("gone", memory_mib=128)
        vm_id = c.vm("gone")["id"]
        short = c.cloud_short()
        pools = {f"nc-{short}-images", f"nc-{short}-volumes"}
        assert pools <= set(virsh("pool-list", "--all", "--name").split())
        c.stop()
        r = subprocess.run([NESTCLOUD, "purge", "--state-dir", c.state], capture_output=True,
                           text=True)
        assert r.returncode == 0 and "1 domain and 2 storage pools" in r.stdout, r.stdout
        assert vm_id not in virsh("list", "--all", "--uuid")
        assert not pools & set(virsh("pool-list", "--all", "--name").split())
    finally:
        c.destroy()
