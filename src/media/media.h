// Media module: RTP/RTCP parsing, per-stream statistics and the RTP/RTCP relay (relay.h).
#pragma once

#include "media/relay.h"
#include "media/rtp_packet.h"
#include "media/rtp_stats.h"
