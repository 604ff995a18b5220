/* The guest program of the power-cut test: `powercut record|replay <fs> durable|not-durable <devices>...`. */
#include "powercut.h"

#include <stdio.h>
#include <string.h>

int main(int argc, char** argv)
{
    if (argc == 6 && strcmp(argv[1], "record") == 0)
        return pc_record(argv[2], strcmp(argv[3], "durable") == 0, argv[4], argv[5]) == 0 ? 0 : 1;
    if (argc == 7 && strcmp(argv[1], "replay") == 0)
        return pc_replay(argv[2], strcmp(argv[3], "durable") == 0, argv[4], argv[5], argv[6]) == 0 ? 0 : 1;
    fprintf(stderr, "usage: powercut record <fs> durable|not-durable <data> <log>\n"
                    "       powercut replay <fs> durable|not-durable <log> <replay> <cow>\n");
    return 2;
}
