// Media module: RTP/RTCP parsing and per-stream statistics (the relay joins later).
#pragma once

#include "media/rtp_packet.h"
#include "media/rtp_stats.h"
