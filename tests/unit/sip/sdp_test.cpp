#include "sip/sip.h"
