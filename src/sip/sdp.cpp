#include "sip/sdp.h"
