# Multi-stage build of OutboxSync.Worker; runs as a non-root user.
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
COPY Directory.Build.props Directory.Packages.props .editorconfig ./
COPY migrations/ migrations/
COPY src/ src/
RUN dotnet publish src/Worker/OutboxSync.Worker.csproj -c Release -o /app --nologo

FROM mcr.microsoft.com/dotnet/aspnet:10.0
WORKDIR /app
COPY --from=build /app .
RUN groupadd --system outboxsync && useradd --system --gid outboxsync --no-create-home outboxsync
USER outboxsync
ENTRYPOINT ["dotnet", "OutboxSync.Worker.dll"]
