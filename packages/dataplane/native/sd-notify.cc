#include "sd-notify.h"
#include "errors.h"

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace dtsudp {

Napi::Value SdNotify(const Napi::CallbackInfo &info)
{
	Napi::Env env = info.Env();
	if (info.Length() < 2 || !info[0].IsString() || !info[1].IsString())
		return throw_type(env, "sdNotify(socketPath, message): strings expected");
	std::string path = info[0].As<Napi::String>().Utf8Value();
	std::string msg = info[1].As<Napi::String>().Utf8Value();

	struct sockaddr_un sa;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (path.empty() || path.size() >= sizeof(sa.sun_path) || (path[0] != '/' && path[0] != '@'))
		return throw_type(env, "sdNotify: NOTIFY_SOCKET must be an absolute path or start with '@'");
	memcpy(sa.sun_path, path.data(), path.size());
	if (path[0] == '@')
		sa.sun_path[0] = '\0';
	socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + path.size());

	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return throw_errno(env, "socket(AF_UNIX)", errno);
	ssize_t n = sendto(fd, msg.data(), msg.size(), MSG_NOSIGNAL, (struct sockaddr *)&sa, len);
	int err = errno;
	close(fd);
	if (n < 0)
		return throw_errno(env, "sendto(" + path + ")", err);
	return env.Undefined();
}

} // namespace dtsudp
