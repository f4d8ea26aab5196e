/* SPDX-License-Identifier: MIT */
/*
 * The running agent: owns the loop and every module of DESIGN.md's data
 * flow (sources → privacy → spool → publisher), wires them together and
 * handles signals. main.c only parses the command line.
 */
#ifndef SL_AGENT_H
#define SL_AGENT_H

#include "config.h"

/* Runs until SIGTERM/SIGINT; returns the process exit status. */
int sl_agent_run(struct sl_config *cfg);

#endif
