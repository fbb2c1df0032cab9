/* nc_fault.h: crash points for tests.
 *
 * Tests prove that a crash at any step loses nothing and doubles nothing
 * by naming a point in NESTCLOUD_FAULT; the process then dies by SIGKILL
 * exactly there, as `kill -9` would.  Without the variable a point costs
 * one branch.
 */
#pragma once

/* Dies with SIGKILL when NESTCLOUD_FAULT equals @name. */
void nc_fault_point(const char *name);
