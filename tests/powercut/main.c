/* The guest program of the power-cut test: `powercut record|replay <fs> durable|not-durable <devices>...`. */
#include "powercut.h"

#include <stdio.h>
#include <string.h>

static const struct pc_fs file_systems[] = {
    { "ext4", "ext4", "", 1 },
    { "ext4-nojournal", "ext4", "discard", 0 },
    { "xfs", "xfs", "", 1 },
};

const struct pc_fs* pc_fs_named(const char* name)
{
    for (size_t i = 0; i < sizeof file_systems / sizeof file_systems[0]; i++)
        if (strcmp(file_systems[i].name, name) == 0)
            return &file_systems[i];
    return NULL;
}

int main(int argc, char** argv)
{
    const struct pc_fs* fs = argc >= 3 ? pc_fs_named(argv[2]) : NULL;
    if (fs != NULL && argc == 6 && strcmp(argv[1], "record") == 0)
        return pc_record(fs, strcmp(argv[3], "durable") == 0, argv[4], argv[5]) == 0 ? 0 : 1;
    if (fs != NULL && argc == 7 && strcmp(argv[1], "replay") == 0)
        return pc_replay(fs, strcmp(argv[3], "durable") == 0, argv[4], argv[5], argv[6]) == 0 ? 0 : 1;
    fprintf(stderr, "usage: powercut record <fs> durable|not-durable <data> <log>\n"
                    "       powercut replay <fs> durable|not-durable <log> <replay> <cow>\n"
                    "       <fs>: ext4, ext4-nojournal or xfs\n");
    return 2;
}
