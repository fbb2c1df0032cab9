/* domain.c: VM spec to libvirt domain XML. */
#include "domain.h"
#include "limits.h"
#include "util/nc_xml.h"
#include "util/nc_valid.h"

char *
nc_domain_name(const NcVmSpec *spec)
{
    return g_strdup_printf(NC_DOMAIN_PREFIX "%s-%.8s", spec->name, nc_uuid_short(spec->id));
}

static void
nc_domain_format_os(GString *x, const NcDomainEnv *env)
{
    g_string_append(x, "  <os>\n    <type arch='x86_64' machine='q35'>hvm</type>\n");
    if (env->kernel) {
        nc_xml_printf(x, "    <kernel>%s</kernel>\n", env->kernel);
        if (env->initrd)
            nc_xml_printf(x, "    <initrd>%s</initrd>\n", env->initrd);
        if (env->cmdline)
            nc_xml_printf(x, "    <cmdline>%s</cmdline>\n", env->cmdline);
    }
    g_string_append(x, "    <boot dev='hd'/>\n  </os>\n");
}

static void
nc_domain_format_nics(GString *x, const NcVmSpec *spec, const NcDomainEnv *env)
{
    for (guint i = 0; i < spec->nics->len; i++) {
        NcNic *nic = g_ptr_array_index(spec->nics, i);
        bool user = g_strcmp0(nic->network, "user") == 0 || !env->network;

        if (user)
            g_string_append(x, "    <interface type='user'>\n");
        else
            nc_xml_printf(x, "    <interface type='network'>\n"
                             "      <source network='%s'/>\n", env->network);
        nc_xml_printf(x, "      <mac address='%s'/>\n"
                         "      <model type='virtio'/>\n"
                         "    </interface>\n", nic->mac);
    }
}

char *
nc_domain_xml_format(const NcVmSpec *spec, const NcDomainEnv *env)
{
    g_autoptr(GString) x = g_string_sized_new(4096);
    g_autofree char *dname = nc_domain_name(spec);

    nc_xml_printf(x, "<domain type='%s' xmlns:nc='" NC_XMLNS "'>\n", env->domain_type);
    nc_xml_printf(x, "  <name>%s</name>\n  <uuid>%s</uuid>\n  <title>%s</title>\n",
                  dname, spec->id, spec->name);
    nc_xml_printf(x, "  <metadata>\n"
                     "    <nc:vm cloud='%s' host='%s' project='%s' name='%s' image='%s'/>\n"
                     "  </metadata>\n",
                  env->cloud_id, env->host, spec->project, spec->name, spec->image);
    /* QEMU refuses hotplug slots without room to grow into */
    if (spec->max_memory_mib > spec->memory_mib)
        nc_xml_printf(x, "  <maxMemory slots='%d' unit='MiB'>%lld</maxMemory>\n",
                      NC_LIMIT_MEMORY_SLOTS, (long long)spec->max_memory_mib);
    if (env->bare) {
        /* what libvirt would fill in anyway is left out: the current
         * memory and vCPUs when they are the maximum, the static
         * placement, booting from the disk, and the on_* actions.  Each
         * element costs the test driver's parser its XPath queries; a
         * tenth of a simulated launch (bench/sim_launch.c) */
        nc_xml_printf(x, "  <memory unit='MiB'>%lld</memory>\n", (long long)spec->memory_mib);
        if (spec->vcpus == spec->max_vcpus)
            nc_xml_printf(x, "  <vcpu>%d</vcpu>\n", spec->max_vcpus);
        else
            nc_xml_printf(x, "  <vcpu current='%d'>%d</vcpu>\n", spec->vcpus, spec->max_vcpus);
        nc_xml_printf(x, "  <cputune>\n    <shares>%u</shares>\n  </cputune>\n"
                         "  <os>\n    <type arch='x86_64' machine='q35'>hvm</type>\n  </os>\n"
                         "</domain>\n",
                      nc_vm_priority_shares(spec->cpu_priority));
        return g_string_free(g_steal_pointer(&x), FALSE);
    }
    nc_xml_printf(x, "  <memory unit='MiB'>%lld</memory>\n"
                     "  <currentMemory unit='MiB'>%lld</currentMemory>\n",
                  (long long)spec->memory_mib, (long long)spec->memory_mib);
    nc_xml_printf(x, "  <vcpu placement='static' current='%d'>%d</vcpu>\n",
                  spec->vcpus, spec->max_vcpus);
    nc_xml_printf(x, "  <cputune>\n    <shares>%u</shares>\n  </cputune>\n",
                  nc_vm_priority_shares(spec->cpu_priority));
    nc_domain_format_os(x, env);
    /* ACPI is what makes vCPU and DIMM hotplug visible inside the guest */
    g_string_append(x, "  <features>\n    <acpi/>\n    <apic/>\n  </features>\n");
    if (g_strcmp0(env->domain_type, "kvm") == 0)
        g_string_append(x, "  <cpu mode='host-passthrough' check='none' migratable='on'>\n");
    else
        /* an explicit model and no check: libvirt's default check of a
         * custom CPU adds about 100 ms to every start */
        /* qemu64 offers SVM; under TCG that would hand a nested cloud a
         * /dev/kvm that only emulates on top of emulation: it is TCG */
        g_string_append(x, "  <cpu mode='custom' match='exact' check='none'>\n"
                           "    <model fallback='forbid'>qemu64</model>\n"
                           "    <feature policy='disable' name='svm'/>\n");
    nc_xml_printf(x, "    <numa>\n      <cell id='0' cpus='0-%d' memory='%lld' unit='MiB'/>\n"
                     "    </numa>\n  </cpu>\n",
                  spec->max_vcpus - 1, (long long)spec->memory_mib);
    g_string_append(x, "  <clock offset='utc'/>\n"
                       "  <on_poweroff>destroy</on_poweroff>\n"
                       "  <on_reboot>restart</on_reboot>\n"
                       "  <on_crash>destroy</on_crash>\n"
                       "  <devices>\n");
    nc_xml_printf(x, "    <disk type='file' device='disk'>\n"
                     "      <driver name='qemu' type='qcow2' discard='unmap'/>\n"
                     "      <source file='%s'/>\n"
                     "      <target dev='vda' bus='virtio'/>\n"
                     "    </disk>\n", env->disk_path);
    if (env->seed_path)
        nc_xml_printf(x, "    <disk type='file' device='cdrom'>\n"
                         "      <driver name='qemu' type='raw'/>\n"
                         "      <source file='%s'/>\n"
                         "      <target dev='sda' bus='sata'/>\n"
                         "      <readonly/>\n"
                         "    </disk>\n", env->seed_path);
    nc_domain_format_nics(x, spec, env);
    nc_xml_printf(x, "    <serial type='pty'>\n"
                     "      <log file='%s' append='on'/>\n"
                     "      <target port='0'/>\n"
                     "    </serial>\n"
                     "    <console type='pty'>\n"
                     "      <target type='serial' port='0'/>\n"
                     "    </console>\n", env->console_path);
    /* q35 hot-plugs a device only into a free PCIe root port: keep one
     * spare per volume a VM may hold */
    g_string_append(x, "    <controller type='pci' index='0' model='pcie-root'/>\n");
    for (int i = 0; i < NC_DOMAIN_SPARE_PORTS; i++)
        g_string_append(x, "    <controller type='pci' model='pcie-root-port'/>\n");
    g_string_append(x, "    <memballoon model='virtio'>\n"
                       "      <stats period='10'/>\n"
                       "    </memballoon>\n"
                       "    <rng model='virtio'>\n"
                       "      <backend model='random'>/dev/urandom</backend>\n"
                       "    </rng>\n"
                       "  </devices>\n"
                       "</domain>\n");
    return g_string_free(g_steal_pointer(&x), FALSE);
}

char *
nc_domain_dimm_xml(int64_t size_mib)
{
    return g_strdup_printf("<memory model='dimm'>\n"
                           "  <target>\n"
                           "    <size unit='MiB'>%lld</size>\n"
                           "    <node>0</node>\n"
                           "  </target>\n"
                           "</memory>\n", (long long)size_mib);
}
