# Multi-stage build of OutboxSync.Migrator; runs as a non-root user.
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
COPY Directory.Build.props Directory.Packages.props .editorconfig ./
COPY migrations/ migrations/
COPY src/ src/
RUN dotnet publish src/Migrator/OutboxSync.Migrator.csproj -c Release -o /app --nologo

FROM mcr.microsoft.com/dotnet/runtime:10.0
WORKDIR /app
COPY --from=build /app .
RUN groupadd --system outboxsync && useradd --system --gid outboxsync --no-create-home outboxsync
USER outboxsync
ENTRYPOINT ["dotnet", "OutboxSync.Migrator.dll"]
