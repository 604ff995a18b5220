/* Device-mapper through its ioctls: create a device with one target, send it a message, remove it. */
#define _GNU_SOURCE
#include "powercut.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/dm-ioctl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

/* One ioctl buffer: the header, then the payload at data_start. */
struct request
{
    struct dm_ioctl io;
    char payload[4096];
};

static void prepare(struct request* r, const char* name, size_t payload)
{
    memset(r, 0, sizeof *r);
    r->io.version[0] = DM_VERSION_MAJOR;
    r->io.version[1] = 0;
    r->io.version[2] = 0;
    r->io.data_size = (uint32_t)sizeof *r;
    r->io.data_start = (uint32_t)offsetof(struct request, payload);
    (void)payload;
    snprintf(r->io.name, sizeof r->io.name, "%s", name);
}

static int call(unsigned long command, struct request* r, const char* what)
{
    int fd = open("/dev/mapper/control", O_RDWR | O_CLOEXEC);
    if (fd < 0)
    {
        fprintf(stderr, "powercut: /dev/mapper/control: %s\n", strerror(errno));
        return -1;
    }
    int rc = ioctl(fd, command, r);
    if (rc != 0)
        fprintf(stderr, "powercut: device-mapper %s of %s: %s\n", what, r->io.name, strerror(errno));
    close(fd);
    return rc;
}

int pc_dm_create(const char* name, const char* target, const char* params, uint64_t sectors, unsigned* minor)
{
    struct request r;
    prepare(&r, name, 0);
    if (call(DM_DEV_CREATE, &r, "create") != 0)
        return -1;
    prepare(&r, name, 0);
    r.io.target_count = 1;
    struct dm_target_spec* spec = (struct dm_target_spec*)r.payload;
    spec->sector_start = 0;
    spec->length = sectors;
    snprintf(spec->target_type, sizeof spec->target_type, "%s", target);
    char* text = r.payload + sizeof *spec;
    snprintf(text, sizeof r.payload - sizeof *spec, "%s", params);
    spec->next = 0;
    if (call(DM_TABLE_LOAD, &r, "table load") != 0)
        return -1;
    prepare(&r, name, 0);
    if (call(DM_DEV_SUSPEND, &r, "resume") != 0) /* without DM_SUSPEND_FLAG: resume, which activates */
        return -1;
    *minor = (unsigned)(r.io.dev & 0xff) | (unsigned)((r.io.dev >> 12) & 0xfff00);
    return 0;
}

int pc_dm_message(const char* name, const char* message)
{
    struct request r;
    prepare(&r, name, 0);
    struct dm_target_msg* msg = (struct dm_target_msg*)r.payload;
    msg->sector = 0;
    snprintf(msg->message, sizeof r.payload - sizeof *msg, "%s", message);
    return call(DM_TARGET_MSG, &r, "message");
}

int pc_dm_remove(const char* name)
{
    struct request r;
    prepare(&r, name, 0);
    return call(DM_DEV_REMOVE, &r, "remove");
}

uint64_t pc_device_sectors(const char* path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    uint64_t bytes = 0;
    if (fd >= 0)
    {
        if (ioctl(fd, BLKGETSIZE64, &bytes) != 0)
            bytes = 0;
        close(fd);
    }
    return bytes / 512;
}
