#include "security/none_security.h"

namespace vncd::security {

void NoneSecurityHandler::start(rfb::ByteBuffer& /*out*/) {}

rfb::SecurityStep NoneSecurityHandler::step(rfb::Reader& /*in*/, rfb::ByteBuffer& /*out*/) {
  return rfb::SecurityStep::success();
}

}  // namespace vncd::security
