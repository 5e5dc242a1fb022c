# syntax=docker/dockerfile:1
# core-sim image (the chat core stand-in; issue 19). NOT built or tested here: the build machines run no container
# engine. Build from the repository root:
#   docker build -f packaging/docker/core-sim.Dockerfile --build-arg VERSION=$(scripts/version.sh) -t relay-core-sim .
#   docker run -e CoreSim__AdminKey=… -e CoreSim__RelayKeys__sg-1=… -p 7080:7080 -p 7000:7000 relay-core-sim
# Options: core-sim/README.md (CoreSim__… variables, or appsettings.json beside the binary).
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
ARG VERSION=0.1.0+docker
WORKDIR /src
COPY . .
RUN dotnet publish core-sim/Relay.CoreSim.csproj -c Release -r linux-x64 --self-contained true -o /out -nologo \
      -p:InformationalVersion="$VERSION" -p:IncludeSourceRevisionInInformationalVersion=false -p:DebugType=None

FROM mcr.microsoft.com/dotnet/runtime-deps:10.0
WORKDIR /app
COPY --from=build /out .
ENV ASPNETCORE_ENVIRONMENT=Production \
    RELAY_HEALTH_PORT=7080
EXPOSE 7080 7000 7443
# Not root: the .NET images' "app" user (uid 1654).
USER $APP_UID
# core-sim has no readiness of its own beyond serving: /healthz answers 200 once it listens (HTTP and backhaul
# start together). No curl in the image: bash's /dev/tcp speaks the one request.
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["/bin/bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/${RELAY_HEALTH_PORT} && printf 'GET /healthz HTTP/1.0\\r\\nHost: localhost\\r\\n\\r\\n' >&3 && head -n 1 <&3 | grep -q ' 200 '"]
ENTRYPOINT ["/app/Relay.CoreSim"]
