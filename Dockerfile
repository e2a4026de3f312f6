# Production image of the service. Build: docker build -t appointment-chat .
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
COPY global.json Directory.Build.props Directory.Build.targets Directory.Packages.props .editorconfig ./
COPY src/AppointmentChat.Api/AppointmentChat.Api.csproj src/AppointmentChat.Api/
COPY src/AppointmentChat.StreamEmulator/AppointmentChat.StreamEmulator.csproj src/AppointmentChat.StreamEmulator/
# ReadyToRun (precompiled): starts in ~1.9 s instead of ~2.8 s, as bench/run measures it.
ARG TARGETARCH
RUN dotnet restore src/AppointmentChat.Api/AppointmentChat.Api.csproj -a $TARGETARCH -p:PublishReadyToRun=true
COPY src/ src/
RUN dotnet publish src/AppointmentChat.Api/AppointmentChat.Api.csproj -c Release -a $TARGETARCH --self-contained false \
    -p:PublishReadyToRun=true -o /app --no-restore

# Chiseled: no shell, no package manager, runs as the non-root 'app' user (UID 1654).
FROM mcr.microsoft.com/dotnet/aspnet:10.0-noble-chiseled AS runtime
WORKDIR /app
COPY --from=build /app .
ENV ASPNETCORE_URLS=http://+:8080 \
    ASPNETCORE_ENVIRONMENT=Production \
    Storage__DataFolder=/tmp/appointment-chat
USER app
EXPOSE 8080
# No curl in a chiseled image: the service's own healthcheck command calls /health/live on the configured port.
HEALTHCHECK --interval=15s --timeout=10s --start-period=30s CMD ["dotnet", "AppointmentChat.Api.dll", "healthcheck"]
ENTRYPOINT ["dotnet", "AppointmentChat.Api.dll"]
