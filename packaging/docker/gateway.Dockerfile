# syntax=docker/dockerfile:1
# Relay gateway image (issue 19). NOT built or tested here: the build machines run no container engine; the
# package and the systemd unit are what the tests cover. Build from the repository root:
#   docker build -f packaging/docker/gateway.Dockerfile --build-arg VERSION=$(scripts/version.sh) -t relay-gateway .
#   docker run --group-add "$(getent group relay | cut -d: -f3)" -v /etc/relay:/etc/relay:ro -p 8080:8080 -p 8081:8081 relay-gateway
# Configuration: /etc/relay/gateway.json (relay init writes one; mount it read-only) or Gateway__… variables.
# The image runs as uid 1654 (app), not the host's relay user: the host's /etc/relay is root:relay 0750 and its files
# root:relay 0640 (the relay-gateway package's postinst; `chgrp relay` the keys), so the container reads them through
# the relay group's gid, given by --group-add (a number: the image has no relay group). Without it the gateway cannot
# see /etc/relay/gateway.json, starts from its defaults and stops at the first missing setting. A host without the
# package: groupadd --system relay && chgrp -R relay /etc/relay && chmod 0750 /etc/relay && chmod 0640 /etc/relay/*.
# Never make the files world-readable instead: secret files every user may read are refused.
# Managed WireGuard needs --cap-add NET_ADMIN --device /dev/net/tun; prefer the host's tunnel (Mode=External).
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
ARG VERSION=0.1.0+docker
WORKDIR /src
COPY . .
RUN dotnet publish gateway/Relay.Gateway.csproj -c Release -r linux-x64 --self-contained true -o /out -nologo \
      -p:InformationalVersion="$VERSION" -p:IncludeSourceRevisionInInformationalVersion=false -p:DebugType=None

# runtime-deps: the native libraries a self-contained .NET app needs, no runtime (it ships in /app), bash for the check.
FROM mcr.microsoft.com/dotnet/runtime-deps:10.0
WORKDIR /app
COPY --from=build /out .
ENV ASPNETCORE_ENVIRONMENT=Production \
    RELAY_READYZ_PORT=8080
EXPOSE 8080 8081 8443
# Not root: the .NET images' "app" user (uid 1654, gid 1654); it reads the mounted /etc/relay as a member of the host's
# relay group (docker run --group-add, above). Ports stay above 1024 (Gateway:HttpPort 8080, HttpsPort 8443).
USER $APP_UID
# Ready, not only alive: /readyz answers 200 once the backhaul (and tunnel) are up, 503 while sick or draining.
# No curl in the image: bash's /dev/tcp speaks the one request.
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s --retries=3 \
  CMD ["/bin/bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/${RELAY_READYZ_PORT} && printf 'GET /readyz HTTP/1.0\\r\\nHost: localhost\\r\\n\\r\\n' >&3 && head -n 1 <&3 | grep -q ' 200 '"]
ENTRYPOINT ["/app/Relay.Gateway"]
