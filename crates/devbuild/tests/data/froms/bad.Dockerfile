FROM alpine AS base
RUN echo hi

FROM base
COPY --from=$X /a /b
