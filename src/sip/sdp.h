// SDP (RFC 8866): placeholder until the SDP model lands.
#pragma once
