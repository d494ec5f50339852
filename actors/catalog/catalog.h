/*
 * catalog.h — catalogd, the actor that keeps named, versioned datasets
 * (`catalog.*`). A version points at an object in storage and records its
 * schema, row count, size and sha256; versions are numbered 1, 2, ... and
 * never change once committed.
 *
 * State lives in LevelDB at $LH_DATA_DIR/catalogd/db; every change is
 * written with sync=true before it is acknowledged. Events:
 * events.catalogd.created, .committed and .deleted.
 */
#ifndef LH_ACTOR_CATALOG_H
#define LH_ACTOR_CATALOG_H

#include "bus/actor.h"

extern const lh_actor_def lh_catalog_actor;

#endif
