#include "serve/Status.h"

namespace tachyon::serve {

int httpStatus(Code c) {
    switch (c) {
        case Code::InvalidArgument: return 400;
        case Code::NotFound: return 404;
        case Code::Unavailable: return 503;
        case Code::ResourceExhausted: return 503;
        case Code::DeadlineExceeded: return 504;
        case Code::Internal: return 500;
        case Code::Unsupported: return 501;
    }
    return 500;
}

const char* codeName(Code c) {
    switch (c) {
        case Code::InvalidArgument: return "INVALID_ARGUMENT";
        case Code::NotFound: return "NOT_FOUND";
        case Code::Unavailable: return "UNAVAILABLE";
        case Code::ResourceExhausted: return "RESOURCE_EXHAUSTED";
        case Code::DeadlineExceeded: return "DEADLINE_EXCEEDED";
        case Code::Internal: return "INTERNAL";
        case Code::Unsupported: return "UNIMPLEMENTED";
    }
    return "INTERNAL";
}

}  // namespace tachyon::serve
