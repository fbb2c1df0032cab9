"""Real-time rescale: what the API changes, the guest sees."""
import re

from conftest import virsh, wait_for


def stats(cloud, key):
    return cloud.last_stats(key) or {}


def test_live_grow_seen_inside_guest(cloud):
    vm = cloud.create_vm("elastic", vcpus=1, max_vcpus=4, memory_mib=512, max_memory_mib=2048)
    cloud.wait_console("elastic", "NC-STATS cpus=1")
    before_kib = int(stats(cloud, "elastic")["mem_kib"])

    op = cloud.call("PATCH", "/v1/vms/elastic",
                    {"vcpus": 3, "memory_mib": 1024, "cpu_priority": 8}, expect=(202,))
    assert cloud.wait_op(op)["status"] == "succeeded"
    shown = cloud.vm("elastic")
    assert (shown["vcpus"], shown["memory_mib"], shown["cpu_priority"]) == (3, 1024, 8)
    assert shown["state"] == "running"

    # the guest: three CPUs online, about 512 MiB more memory
    wait_for("3 CPUs in the guest", lambda: stats(cloud, "elastic").get("cpus") == "3", timeout=60)
    wait_for("more memory in the guest",
             lambda: int(stats(cloud, "elastic")["mem_kib"]) >= before_kib + 500 * 1024, timeout=60)
    # libvirt: priority 8 is cpu_shares 8192; the count is 3
    assert re.search(r"cpu_shares\s*:\s*8192", virsh("schedinfo", vm["id"]))
    assert virsh("vcpucount", vm["id"], "--live", "--active").strip() == "3"
    # the host's allocation followed
    alloc = cloud.get("/v1/hosts")["hosts"][0]["allocated"]
    assert alloc["vcpus"] >= 3 and alloc["memory_mib"] >= 1024


def test_live_memory_shrink_through_balloon(cloud):
    high = int(stats(cloud, "elastic")["mem_kib"])
    cloud.wait_op(cloud.call("PATCH", "/v1/vms/elastic", {"memory_mib": 640}, expect=(202,)))
    wait_for("less memory in the guest",
             lambda: int(stats(cloud, "elastic")["mem_kib"]) <= high - 300 * 1024, timeout=60)
    assert cloud.vm("elastic")["memory_mib"] == 640


def test_live_vcpu_shrink_is_refused_and_changes_nothing(cloud):
    status, body = cloud.request("PATCH", "/v1/vms/elastic", {"vcpus": 1})
    assert status == 422 and body["error"]["code"] == "unsupported"
    assert "stop" in body["error"]["message"]
    assert cloud.vm("elastic")["vcpus"] == 3


def test_resize_limits(cloud):
    for body, code in (({"vcpus": 5}, 400), ({"memory_mib": 4096}, 400), ({"vcpus": 0}, 400),
                       ({"cpu_priority": 11}, 400), ({"name": "x"}, 400), ({}, 400),
                       ({"vcpus": "2"}, 400)):
        status, out = cloud.request("PATCH", "/v1/vms/elastic", body)
        assert status == code, (body, out)
    v = cloud.vm("elastic")
    assert (v["vcpus"], v["memory_mib"]) == (3, 640)


def test_offline_resize_applies_at_next_boot(cloud):
    cloud.action("elastic", "stop", timeout=30)
    cloud.wait_op(cloud.call("PATCH", "/v1/vms/elastic",
                             {"vcpus": 2, "memory_mib": 768, "cpu_priority": 2}, expect=(202,)))
    vm = cloud.vm("elastic")
    xml = virsh("dumpxml", "--inactive", vm["id"])
    assert "current='2'" in xml
    assert "<memory unit='KiB'>786432</memory>" in xml
    assert "<shares>128</shares>" in xml
    mark = len(cloud.console("elastic"))
    cloud.action("elastic", "start")
    wait_for("2 CPUs after the restart",
             lambda: "NC-STATS cpus=2" in cloud.console("elastic")[mark:], timeout=90)
    cloud.delete_vm("elastic")


def test_resize_beyond_host_is_refused(cloud):
    cloud.create_vm("greedy", vcpus=1, max_vcpus=64, memory_mib=256, max_memory_mib=256)
    host = cloud.get("/v1/hosts")["hosts"][0]
    too_many = host["limit"]["vcpus"] - host["allocated"]["vcpus"] + 2
    status, body = cloud.request("PATCH", "/v1/vms/greedy", {"vcpus": too_many})
    assert status == 422 and body["error"]["code"] == "insufficient_capacity"
    assert cloud.vm("greedy")["vcpus"] == 1
    assert cloud.get("/v1/hosts")["hosts"][0]["allocated"] == host["allocated"]
    cloud.delete_vm("greedy")
