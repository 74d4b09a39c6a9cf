// The capture module's contract (passive mode, issue 6): frames from libpcap decoded to
// UDP (decoder.h), SIP and SDP followed to tie RTP/RTCP to calls, streams and sides
// with the relay's statistics and reports (tracker.h), and the live or file capture
// that drives them (monitor.h).
#pragma once

#include "capture/decoder.h"
#include "capture/monitor.h"
#include "capture/tracker.h"
