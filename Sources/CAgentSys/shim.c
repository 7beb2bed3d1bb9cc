// CAgentSys has only header functions (include/CAgentSys.h); SwiftPM needs one source file.
#include "CAgentSys.h"
