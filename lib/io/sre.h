/* sre.h: all of libsre's core, for tools that want one include. */
#ifndef SRE_H
#define SRE_H

#include "bus.h"
#include "diag.h"
#include "event.h"
#include "line.h"
#include "opt.h"
#include "sig.h"
#include "stream.h"

#endif
