// Public interface of the sip module: message model, parser and serializer, URIs,
// typed header views, and SDP. Other modules include only this header.
#pragma once

#include "sip/digest.h"
#include "sip/header_names.h"
#include "sip/headers.h"
#include "sip/message.h"
#include "sip/params.h"
#include "sip/response.h"
#include "sip/sdp.h"
#include "sip/uri.h"
